import { BffError, type ChatMessage } from '../../../client/src';
import {
  answers,
  authorOf,
  describeError,
  mergeMessages,
  presenceEntry,
  presenceLine,
  safeUrl,
  textOf,
  wordingFor,
} from '../../../client/src/react';

/**
 * The conversation's pure helpers (conversation.ts), as the hook and the components use them: the order and merging
 * of messages, who wrote one, presence lines, a message's text, the answers `send` takes, which links a page may
 * open, and the words for a failure. Run without a page (node): as a server-rendered page runs them.
 */

const message = (id: string, time: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  direction: 'outbound',
  type: 'text',
  text: `text of ${id}`,
  time,
  ...extra,
});
const ids = (messages: readonly ChatMessage[]) => messages.map((m) => m.id);

describe('mergeMessages', () => {
  const first = message('a', '2026-03-04T15:00:00Z');
  const second = message('b', '2026-03-04T15:00:01Z');
  const third = message('c', '2026-03-04T15:00:02Z');

  test('messages heard in any order are kept in time order', () => {
    expect(ids(mergeMessages([], [third, first, second]))).toEqual(['a', 'b', 'c']);
    expect(ids(mergeMessages([third], [second, first]))).toEqual(['a', 'b', 'c']);
    expect(ids(mergeMessages([first, third], [second]))).toEqual(['a', 'b', 'c']);
  });

  test('messages of the same instant keep the order they were heard in', () => {
    const at = '2026-03-04T15:00:00Z';
    const heard = ['p', 'q', 'r', 's'].map((id) => message(id, at));
    expect(ids(mergeMessages([], heard))).toEqual(['p', 'q', 'r', 's']);
    expect(ids(mergeMessages(heard.slice(0, 2), heard.slice(2)))).toEqual(['p', 'q', 'r', 's']);
  });

  test('a message heard again is kept once, as its newest copy says', () => {
    const edited = { ...second, text: 'edited' };
    const merged = mergeMessages([first, second], [edited, first]);
    expect(merged).toEqual([first, edited]);
  });

  test('adding nothing gives back the very list: nothing for React to draw again', () => {
    const current = [first, second];
    expect(mergeMessages(current, [])).toBe(current);
  });
});

describe('authorOf', () => {
  test('the guest is "You"; a bot and an agent go by their name, else by what they are', () => {
    expect(authorOf(message('g', 't', { direction: 'inbound', from: { name: 'Sam' } }))).toEqual({
      role: 'guest',
      name: 'You',
    });
    expect(authorOf(message('b', 't', { originatingEntity: 'bot', from: { name: 'Helper' } }))).toEqual({
      role: 'bot',
      name: 'Helper',
    });
    expect(authorOf(message('b', 't', { originatingEntity: 'bot' }))).toEqual({ role: 'bot', name: 'Bot' });
    expect(authorOf(message('h', 't', { originatingEntity: 'human', from: { name: 'Alex' } }))).toEqual({
      role: 'agent',
      name: 'Alex',
    });
    expect(authorOf(message('h', 't', { from: {} }))).toEqual({ role: 'agent', name: 'Agent' });
    expect(authorOf(message('h', 't'), wordingFor('de'))).toEqual({ role: 'agent', name: wordingFor('de').t('agent') });
  });
});

describe('presence', () => {
  const at = new Date('2026-03-04T15:00:00Z');

  test('a join with a name, a leave without one: entries of the conversation from the agent’s side', () => {
    expect(presenceEntry({ presence: 'join', name: 'Alex' }, at)).toEqual({
      id: `presence-Join-${at.getTime()}-Alex`,
      direction: 'outbound',
      type: 'event',
      time: '2026-03-04T15:00:00.000Z',
      from: { name: 'Alex' },
      events: [{ type: 'Presence', value: 'Join' }],
    });
    expect(presenceEntry({ presence: 'disconnect' }, at)).toEqual({
      id: `presence-Disconnect-${at.getTime()}-`,
      direction: 'outbound',
      type: 'event',
      time: '2026-03-04T15:00:00.000Z',
      events: [{ type: 'Presence', value: 'Disconnect' }],
    });
  });

  test('any other presence is no entry', () => {
    expect(presenceEntry({ presence: 'clear', name: 'Alex' }, at)).toBeUndefined();
  });

  test('only an event entry with a Join or Disconnect reads as a line', () => {
    const join = [{ type: 'Presence', value: 'Join' }];
    expect(presenceLine(message('m', 't', { type: 'structured', events: join }))).toBeUndefined();
    expect(presenceLine(message('e', 't', { type: 'event', events: [{ type: 'Typing' }] }))).toBeUndefined();
    expect(presenceLine(message('e', 't', { type: 'event', events: [{ type: 'Presence', value: 'Clear' }] }))).toBe(
      undefined,
    );
    expect(
      presenceLine(message('e', 't', { type: 'event', events: [{ type: 'Typing' }, ...join], from: { name: 'Al' } })),
    ).toBe('\u2068Al\u2069 joined the chat');
  });
});

describe('textOf', () => {
  test('the text, else the text of the answer it carries, else nothing', () => {
    expect(textOf(message('t', 't', { text: 'hello', buttonResponse: { text: 'Yes' } }))).toBe('hello');
    expect(textOf(message('b', 't', { text: undefined, buttonResponse: { text: 'Yes' } }))).toBe('Yes');
    expect(textOf(message('n', 't', { text: undefined }))).toBe('');
    expect(textOf(message('n', 't', { text: undefined, buttonResponse: {} }))).toBe('');
  });
});

describe('answers', () => {
  const offer = message('offer-1', 't');

  test('a quick reply answers the message that offered it', () => {
    expect(answers.quickReply(offer, { text: 'Yes', payload: 'yes' })).toEqual({
      quickReply: { text: 'Yes', payload: 'yes', originatingMessageId: 'offer-1' },
    });
  });

  test('a card’s button sends its payload, else its text as the payload', () => {
    expect(answers.button(offer, { text: 'Track', payload: 'track' })).toEqual({
      button: { text: 'Track', payload: 'track', originatingMessageId: 'offer-1' },
    });
    expect(answers.button(offer, { text: 'Track' })).toEqual({
      button: { text: 'Track', payload: 'Track', originatingMessageId: 'offer-1' },
    });
    expect(answers.button(offer, {})).toEqual({ button: { text: '', payload: '', originatingMessageId: 'offer-1' } });
  });

  test('a date slot answers with its time and the label the guest read', () => {
    expect(answers.datePicker('picker-1', '2026-03-05T09:00:00Z', '5 Mar, 09:00')).toEqual({
      datePicker: { dateTime: '2026-03-05T09:00:00Z', originatingMessageId: 'picker-1', text: '5 Mar, 09:00' },
    });
  });
});

describe('safeUrl', () => {
  afterEach(() => {
    delete (globalThis as { location?: unknown }).location;
  });

  test('http and https links open, written out in full; no other scheme does', () => {
    expect(safeUrl('https://chat.example/a?b=1')).toBe('https://chat.example/a?b=1');
    expect(safeUrl('http://chat.example')).toBe('http://chat.example/');
    for (const url of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'ftp://chat.example/a', 'mailto:a@b.c'])
      expect([url, safeUrl(url)]).toEqual([url, undefined]);
  });

  test('no link, an empty one, or one that is no URL opens nothing', () => {
    expect(safeUrl(undefined)).toBeUndefined();
    expect(safeUrl('')).toBeUndefined();
    expect(safeUrl('http://')).toBeUndefined();
  });

  test('a relative link opens against the page, and without a page (server rendering) is refused', () => {
    expect(safeUrl('/files/a')).toBeUndefined();
    (globalThis as { location?: unknown }).location = { href: 'https://shop.example/chat/' };
    expect(safeUrl('/files/a')).toBe('https://shop.example/files/a');
    expect(safeUrl('')).toBeUndefined();
  });
});

describe('describeError', () => {
  const failure = (code: string, message = '') => new BffError({ status: 400, code, message });

  test('a message too long names the service’s limit, else the default 4096 bytes', () => {
    expect(describeError(failure('message_too_long'), { maxTextBytes: 1000 })).toBe(
      wordingFor('en').t('messageTooLong', { count: 1000 }),
    );
    expect(describeError(failure('message_too_long'), {})).toBe(wordingFor('en').t('messageTooLong', { count: 4096 }));
    expect(describeError(failure('message_too_long'))).toBe(wordingFor('en').t('messageTooLong', { count: 4096 }));
  });

  test('sensitive data is refused in words, whatever the service’s detail says', () => {
    expect(describeError(failure('sensitive_data', 'masked: pan'))).toBe(wordingFor('en').t('sensitiveData'));
  });

  test('an unknown failure without a detail reads generically, in English too', () => {
    expect(describeError(failure('something_new'))).toBe(wordingFor('en').t('somethingWentWrong'));
  });
});
