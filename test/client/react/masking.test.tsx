/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { cleanup, fireEvent, render, screen, within } from '../../support/dom';
import { BffClient, BffError, memoryTokenStore, shippedLanguages, wordingFor } from '../../../client/src';
import { ChatWording, Composer, MessageList, describeError, useChat } from '../../../client/src/react';
import { transition } from '../../../client/src/react/chatState';
import { FetchEventSource } from '../../support/eventSource';
import { STATES } from '../../support/chatStates';
import { PAGE_ORIGIN, startStack, type Stack } from '../../support/stack';

/**
 * Masking in the kit (docs/api.md#masking): when the service hid a card number in the guest's message, the page
 * tells the customer once under that message, in their language; a message with nothing hidden says nothing.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { MASKING: 'card,iban' }, sim: { agent: { enabled: false } } });
});
afterAll(() => stack.close());
afterEach(() => cleanup());

const pageFetch: typeof fetch = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN } });

function ChatPage({ client }: { client: BffClient }) {
  const chat = useChat({ client, locale: 'de' });
  return (
    <ChatWording wording={chat.wording}>
      <p role="status">{chat.status}</p>
      <MessageList messages={chat.messages} masked={chat.masked} onAnswer={(input) => void chat.send(input)} />
      <Composer onSubmit={chat.submit} onTyping={chat.notifyTyping} disabled={chat.status !== 'open'} />
    </ChatWording>
  );
}

const german = wordingFor('de');
const log = () => screen.getByRole('log', { name: german.t('conversation') });

async function say(text: string, shown: string): Promise<HTMLElement> {
  fireEvent.change(screen.getByLabelText(german.t('yourMessage')), { target: { value: text } });
  fireEvent.click(screen.getByRole('button', { name: german.t('send') }));
  const bubble = await within(log()).findByText(shown, { selector: '.bubble' });
  return bubble.closest('li')!;
}

test('the customer reads once, in their language, under each message whose card number was hidden', async () => {
  const client = new BffClient({
    baseUrl: stack.service.url,
    tokenStore: memoryTokenStore(),
    fetch: pageFetch,
    EventSource: FetchEventSource as unknown as typeof EventSource,
  });
  render(<ChatPage client={client} />);
  await screen.findByText('open', { selector: '[role=status]' });
  const sentence = german.t('maskedNotice');

  const masked = await say('Karte 4111 1111 1111 1111 bitte', 'Karte •••• •••• •••• 1111 bitte');
  await within(masked).findByText(sentence);
  const plain = await say('ref 4111 1111 1111 1112', 'ref 4111 1111 1111 1112');
  const again = await say('IBAN DE89 3704 0044 0532 0130 00', 'IBAN DE•• •••• •••• •••• ••30 00');
  await within(again).findByText(sentence);

  expect(within(masked).getAllByText(sentence)).toHaveLength(1);
  expect(within(plain).queryByText(sentence)).toBeNull();
  expect(within(log()).getAllByText(sentence)).toHaveLength(2);
});

test('a notice heard again for the same message (another tab, a retry) adds nothing', () => {
  const live = STATES['live, connecting'];
  const once = transition(live, { type: 'inputMasked', attempt: live.attempt, id: 'g1' })!;
  const twice = transition(once, { type: 'inputMasked', attempt: live.attempt, id: 'g1' });
  expect(once.masked).toEqual(['g1']);
  expect(twice).toBe(once);
  const message = {
    id: 'g1',
    direction: 'inbound' as const,
    type: 'text' as const,
    text: '••••',
    time: '2026-03-02T10:05:00Z',
  };
  render(<MessageList messages={[message]} masked={twice!.masked} onAnswer={() => {}} wording={wordingFor('fr')} />);
  expect(screen.getAllByText(wordingFor('fr').t('maskedNotice'))).toHaveLength(1);
});

test('every shipped language words the notice and the refusal in its own words', () => {
  const english = wordingFor('en');
  for (const language of shippedLanguages.filter((l) => l !== 'en')) {
    const words = wordingFor(language);
    expect([language, words.t('maskedNotice')]).not.toEqual([language, english.t('maskedNotice')]);
    const refused = new BffError({ status: 422, code: 'sensitive_data', message: 'The message holds…' });
    expect(describeError(refused, undefined, words)).toBe(words.t('sensitiveData'));
  }
});
