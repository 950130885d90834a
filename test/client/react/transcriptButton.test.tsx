/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, fireEvent, render, screen } from '../../support/dom';
import type { Transcript } from '../../../client/src';
import { TranscriptButton } from '../../../client/src/react';

/**
 * TranscriptButton as a control (what it downloads: transcript.test.tsx): its styling hook, its label, and one
 * request at a time, the button disabled and aria-busy while the file is asked for.
 */

/** The file names the page offered for download. */
function captureDownloads(): string[] {
  const saved: string[] = [];
  Object.assign(URL, { createObjectURL: () => 'blob:test/0', revokeObjectURL: () => undefined });
  jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    saved.push(this.download);
  });
  return saved;
}

const file: Transcript = {
  format: 'html',
  mediaType: 'text/html;charset=utf-8',
  fileName: 'chat-transcript-2026-03-04.html',
  content: 'the whole conversation',
  source: 'service',
};

afterEach(() => {
  cleanup();
  jest.restoreAllMocks();
});

test('its class and the label given; disabled and aria-busy while the file is asked for, then ready again', async () => {
  const saved = captureDownloads();
  let answer!: (transcript: Transcript) => void;
  const asked = new Promise<Transcript>((resolve) => (answer = resolve));
  render(<TranscriptButton client={{ transcript: () => asked }} messages={[]} label="Keep a copy" />);
  const button = screen.getByRole<HTMLButtonElement>('button', { name: 'Keep a copy' });
  expect(button.className).toBe('transcript');
  expect([button.disabled, button.getAttribute('aria-busy')]).toEqual([false, 'false']);
  await act(async () => fireEvent.click(button));
  expect([button.disabled, button.getAttribute('aria-busy')]).toEqual([true, 'true']);
  await act(async () => answer(file));
  expect([button.disabled, button.getAttribute('aria-busy')]).toEqual([false, 'false']);
  expect(saved).toEqual(['chat-transcript-2026-03-04.html']);
});
