/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, render, screen } from '../../support/dom';
import type { ChatMessage } from '../../../client/src';
import { MessageList } from '../../../client/src/react';

/**
 * Markdown's libraries are loaded on first use (client/src/react/markdown.ts): a list with Markdown off never loads
 * them, and a list turned on after its first render (the deployment's capabilities come after it) formats from then.
 * The tests run in this order: the libraries, once loaded, stay loaded for the file.
 */

let mockMarkdownLoads = 0;
jest.mock('markdown-it', () => {
  mockMarkdownLoads++;
  return jest.requireActual('markdown-it');
});

const messages: ChatMessage[] = [
  { id: 'a', direction: 'outbound', type: 'text', text: '**Yes.**', time: '2026-03-04T15:00:01Z' },
];

afterEach(cleanup);

test('with Markdown off, the list shows the text as written and never loads markdown-it', async () => {
  const { container } = render(<MessageList messages={messages} onAnswer={() => undefined} />);
  // Long enough for a load begun at the first render to have required the module.
  await act(() => new Promise((resolve) => setTimeout(resolve, 50)));
  expect(mockMarkdownLoads).toBe(0);
  expect(screen.getByText('**Yes.**').tagName).toBe('P');
  expect(container.querySelector('strong')).toBeNull();
});

test('turned on after the first render, the list loads markdown-it then and formats the agent’s text', async () => {
  const { rerender } = render(<MessageList messages={messages} onAnswer={() => undefined} />);
  expect(screen.getByText('**Yes.**').tagName).toBe('P');
  rerender(<MessageList messages={messages} onAnswer={() => undefined} markdown />);
  expect((await screen.findByText('Yes.')).tagName).toBe('STRONG');
  expect(mockMarkdownLoads).toBe(1);
});
