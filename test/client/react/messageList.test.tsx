/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { StrictMode } from 'react';
import { cleanup, fireEvent, render, screen, within } from '../../support/dom';
import type { ChatMessage, SendInput } from '../../../client/src';
import { Message, MessageList, presenceEntry, wordingFor } from '../../../client/src/react';

/**
 * The conversation as MessageList draws it (MessageList.tsx), in jsdom: the live region, which entries it shows, which
 * answers stay open on which message, a page's own drawing of a message, the jump to new messages, and what each
 * message says under it. The receipts, masking and markdown suites show its delivery lines against the service.
 */

afterEach(cleanup);

const at = (second: number) => new Date(Date.UTC(2026, 2, 4, 15, 0, second)).toISOString();
const agent = (id: string, second: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  direction: 'outbound',
  type: 'text',
  text: `text of ${id}`,
  time: at(second),
  originatingEntity: 'human',
  from: { name: 'Alex' },
  ...extra,
});
const guest = (id: string, second: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  direction: 'inbound',
  type: 'text',
  text: `text of ${id}`,
  time: at(second),
  ...extra,
});
const item = (id: string) => document.querySelector<HTMLElement>(`li[data-id="${id}"]`)!;
const answered: SendInput[] = [];
const onAnswer = (input: SendInput) => void answered.push(input);
beforeEach(() => void answered.splice(0));

describe('the live region', () => {
  test('a polite log of additions, named Conversation or as the page says, that a keyboard can reach and scroll', () => {
    const { rerender } = render(<MessageList messages={[]} onAnswer={onAnswer} />);
    const log = screen.getByRole('log', { name: 'Conversation' });
    expect(['aria-live', 'aria-relevant', 'tabindex'].map((name) => log.getAttribute(name))).toEqual([
      'polite',
      'additions',
      '0',
    ]);
    expect(log.className).toBe('messages');
    rerender(<MessageList messages={[]} onAnswer={onAnswer} label="Chat with us" className="mine" />);
    expect(screen.getByRole('log', { name: 'Chat with us' }).className).toBe('mine');
  });

  test('an agent joining or leaving is a line of its own; any other event is not shown', () => {
    const joined = presenceEntry({ presence: 'join', name: 'Alex' }, new Date(at(1)))!;
    const typing: ChatMessage = {
      id: 'e',
      direction: 'outbound',
      type: 'event',
      time: at(2),
      events: [{ type: 'Typing' }],
    };
    render(<MessageList messages={[guest('g', 0), joined, typing]} onAnswer={onAnswer} />);
    const items = within(screen.getByRole('log')).getAllByRole('listitem');
    expect(items.map((li) => li.textContent)).toEqual([
      expect.stringContaining('text of g'),
      '\u2068Alex\u2069 joined the chat',
    ]);
    expect(items[1]!.className).toBe('presence');
    expect(items[1]!.getAttribute('data-id')).toBe(joined.id);
  });
});

describe('which answers stay open', () => {
  const offer = (id: string, second: number) =>
    agent(id, second, {
      type: 'structured',
      quickReplies: [{ text: `Yes ${id}`, payload: 'yes' }],
      cards: [{ title: 'Card', actions: [{ type: 'Postback', text: `Pick ${id}`, payload: 'p' }] }],
      datePickers: [{ originatingMessageId: id, title: `Slots ${id}`, availableTimes: [{ dateTime: at(60) }] }],
    });
  const enabled = (name: string) => !(screen.getByRole('button', { name }) as HTMLButtonElement).disabled;

  test('quick replies and date slots on the newest message only; a card’s buttons on any', () => {
    const joined = presenceEntry({ presence: 'join', name: 'Sam' }, new Date(at(3)))!;
    render(<MessageList messages={[offer('old', 1), offer('new', 2), joined]} onAnswer={onAnswer} />);
    expect([enabled('Yes old'), enabled('Pick old'), enabled('Yes new'), enabled('Pick new')]).toEqual([
      false,
      true,
      true,
      true,
    ]);
    const slot = (id: string) => within(screen.getByRole('group', { name: `Slots ${id}` })).getByRole('button');
    expect([(slot('old') as HTMLButtonElement).disabled, (slot('new') as HTMLButtonElement).disabled]).toEqual([
      true,
      false,
    ]);
    fireEvent.click(screen.getByRole('button', { name: 'Pick old' }));
    expect(answered).toEqual([{ button: { text: 'Pick old', payload: 'p', originatingMessageId: 'old' } }]);
  });

  test('with answers off, none at all', () => {
    render(<MessageList messages={[offer('only', 1)]} onAnswer={onAnswer} answersDisabled />);
    expect([enabled('Yes only'), enabled('Pick only')]).toEqual([false, false]);
  });

  test('a page’s own drawing of a message is told whether it may be answered; undefined keeps the default', () => {
    const told: [string, boolean][] = [];
    const draw = (message: ChatMessage, answerable: boolean) => {
      told.push([message.id, answerable]);
      return message.id === 'mine' ? <li>drawn by the page</li> : undefined;
    };
    const messages = [agent('mine', 1), agent('theirs', 2)];
    const { rerender } = render(<MessageList messages={messages} onAnswer={onAnswer} renderMessage={draw} />);
    expect(told).toEqual([
      ['mine', false],
      ['theirs', true],
    ]);
    expect(
      within(screen.getByRole('log'))
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['drawn by the page', expect.stringContaining('text of theirs')]);
    told.splice(0);
    rerender(<MessageList messages={messages} onAnswer={onAnswer} renderMessage={draw} answersDisabled />);
    expect(told).toEqual([
      ['mine', false],
      ['theirs', false],
    ]);
  });
});

describe('the jump to new messages', () => {
  function scrolledUp(label?: (count: number) => string) {
    const view = (messages: ChatMessage[]) => (
      <MessageList messages={messages} onAnswer={onAnswer} newMessagesLabel={label} />
    );
    const first = [agent('a1', 1)];
    const { rerender } = render(view(first));
    const log = screen.getByRole('log');
    // jsdom has no layout: give the list a height, at its end, then scroll it up as a reader does.
    Object.defineProperty(log, 'scrollHeight', { value: 1000, configurable: true });
    Object.defineProperty(log, 'clientHeight', { value: 100 });
    Object.defineProperty(log, 'scrollTop', { value: 900, writable: true });
    fireEvent.scroll(log);
    log.scrollTop = 0;
    fireEvent.scroll(log);
    return { log, arrive: (...more: ChatMessage[]) => rerender(view([...first, ...more])) };
  }

  test('none while nothing arrived; then it counts what came and takes the reader down', async () => {
    const { log, arrive } = scrolledUp();
    expect(screen.queryByRole('button')).toBeNull();
    arrive(agent('a2', 2), agent('a3', 3));
    fireEvent.click(await screen.findByRole('button', { name: '2 new messages' }));
    expect(log.scrollTop).toBe(1000);
    expect(screen.queryByRole('button', { name: /new message/ })).toBeNull();
  });

  test('under StrictMode (mounted twice), once taken down the reader is not offered the jump for what comes next', async () => {
    const view = (messages: ChatMessage[]) => (
      <StrictMode>
        <MessageList messages={messages} onAnswer={onAnswer} />
      </StrictMode>
    );
    const { rerender } = render(view([agent('a1', 1)]));
    const log = screen.getByRole('log');
    Object.defineProperty(log, 'scrollHeight', { value: 1000, configurable: true });
    Object.defineProperty(log, 'clientHeight', { value: 100 });
    Object.defineProperty(log, 'scrollTop', { value: 900, writable: true });
    fireEvent.scroll(log);
    log.scrollTop = 0;
    fireEvent.scroll(log);
    rerender(view([agent('a1', 1), agent('a2', 2)]));
    fireEvent.click(await screen.findByRole('button', { name: '1 new message' }));
    rerender(view([agent('a1', 1), agent('a2', 2), agent('a3', 3)]));
    await screen.findByText('text of a3');
    expect(log.scrollTop).toBe(1000);
    expect(screen.queryByRole('button', { name: /new message/ })).toBeNull();
  });

  test('in the page’s own words when it gives them', async () => {
    const { arrive } = scrolledUp((count) => `${count} more below`);
    arrive(agent('a2', 2));
    expect((await screen.findByRole('button', { name: '1 more below' })).className).toBe('new-messages');
  });
});

describe('one message', () => {
  test('who wrote it (their name kept apart from the text), the words in their own direction, and when', () => {
    render(<MessageList messages={[agent('a', 1), guest('g', 2)]} onAnswer={onAnswer} />);
    expect(item('a').className).toBe('message from-agent');
    expect(item('g').className).toBe('message from-guest');
    expect(item('a').textContent).toMatch(/^Alex: text of a/);
    expect(item('a').querySelector('bdi')?.textContent).toBe('Alex');
    expect(item('a').querySelector('.who .visually-hidden')?.textContent).toBe(': ');
    const bubble = within(item('a')).getByText('text of a');
    expect([bubble.className, bubble.getAttribute('dir')]).toEqual(['bubble', 'auto']);
    const time = item('a').querySelector('time')!;
    expect([time.getAttribute('datetime'), time.textContent]).toEqual([at(1), wordingFor('en').time(at(1))]);
  });

  test('a message of no words (a card alone) draws no empty bubble', () => {
    const card = agent('c', 1, { text: '', cards: [{ title: 'Card', actions: [] }] });
    render(<MessageList messages={[card]} onAnswer={onAnswer} />);
    expect(item('c').querySelector('.bubble')).toBeNull();
  });

  test('the guest’s newest message that Genesys spoke of says where it stands, even with a newer one not yet spoken of', () => {
    render(<MessageList messages={[guest('g1', 1, { status: 'delivered' }), guest('g2', 2)]} onAnswer={onAnswer} />);
    expect(item('g1').querySelector('.delivery')?.textContent).toBe('Delivered');
    expect(item('g2').querySelector('.delivery')).toBeNull();
  });

  test('Message alone: its answers open and no masked notice unless told otherwise', () => {
    const offer = agent('o', 1, { quickReplies: [{ text: 'Yes', payload: 'yes' }] });
    const { rerender } = render(<Message message={offer} onAnswer={onAnswer} />);
    expect((screen.getByRole('button', { name: 'Yes' }) as HTMLButtonElement).disabled).toBe(false);
    expect(screen.queryByText(wordingFor('en').t('maskedNotice'))).toBeNull();
    // An agent's message has no status: nothing to say where it stands.
    expect(item('o').querySelector('.delivery')).toBeNull();
    rerender(<Message message={offer} onAnswer={onAnswer} newest={false} masked />);
    expect((screen.getByRole('button', { name: 'Yes' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(wordingFor('en').t('maskedNotice'))).toBeTruthy();
  });

  test('Message alone says where a guest message stands unless told not to', () => {
    const { rerender } = render(<Message message={guest('g', 1, { status: 'read' })} onAnswer={onAnswer} />);
    expect(item('g').querySelector('.delivery')?.getAttribute('data-status')).toBe('read');
    rerender(<Message message={guest('g', 1, { status: 'read' })} onAnswer={onAnswer} showStatus={false} />);
    expect(item('g').querySelector('.delivery')).toBeNull();
  });

  test('inside a page’s own form, Send again sends the text and submits nothing', () => {
    let submitted = 0;
    const failed = guest('g', 1, { status: 'failed', reasons: [{ code: 'RateLimited' }] });
    render(
      <form onSubmit={(event) => (event.preventDefault(), (submitted += 1))}>
        <MessageList messages={[failed]} onAnswer={onAnswer} />
      </form>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Send again' }));
    expect(answered).toEqual([{ text: 'text of g' }]);
    expect(submitted).toBe(0);
  });

  test('a failed message of no words (a file alone) offers nothing to send again', () => {
    const file = guest('f', 1, { text: '', status: 'failed', reasons: [{ code: 'RateLimited' }] });
    render(<MessageList messages={[file]} onAnswer={onAnswer} />);
    const failure = within(item('f')).getByRole('status');
    expect([failure.className, failure.getAttribute('data-status')]).toEqual(['delivery failed', 'failed']);
    expect(within(item('f')).queryByRole('button')).toBeNull();
    // Why it failed, in words whose direction is their own.
    expect(within(failure).getByText(wordingFor('en').t('failedRateLimited')).getAttribute('dir')).toBe('auto');
  });
});

describe('masked', () => {
  test('the notice goes under a message the service masked, or one with a file it masked the name of, only', () => {
    const withFile = guest('g2', 2, {
      attachments: [{ id: 'file-1', url: 'https://chat.example/f', filename: 'x.pdf' }],
    });
    const unnamed = guest('g3', 3, { attachments: [{ url: 'https://chat.example/u' }] });
    const { rerender } = render(
      <MessageList
        messages={[guest('g1', 1), withFile, unnamed, guest('g4', 4)]}
        onAnswer={onAnswer}
        masked={['g1', 'file-1']}
      />,
    );
    const notice = wordingFor('en').t('maskedNotice');
    const noticed = ['g1', 'g2', 'g3', 'g4'].filter((id) => within(item(id)).queryByText(notice) !== null);
    expect(noticed).toEqual(['g1', 'g2']);
    expect(within(item('g1')).getByText(notice).className).toBe('masked-notice');
    rerender(<MessageList messages={[guest('g1', 1), withFile]} onAnswer={onAnswer} masked={[]} />);
    expect(screen.queryByText(notice)).toBeNull();
  });
});
