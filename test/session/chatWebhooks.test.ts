import type { GuestEvent, NewestPage } from '../../src/genesys/guest';
import { ChatWebhooks } from '../../src/session/chatWebhooks';
import type { ChatEvent, ChatEvents } from '../../src/webhooks';

/**
 * The canary's chats are synthetic conversations (docs/operations.md#canaries): the site's webhooks hear nothing
 * of them, while every other chat's events go out as before.
 * What Genesys said is told once per instance, from its socket or from a read of the newest history page.
 */

const CANARY = { name: 'genesysBffCanary', value: 'true' };

function recorder() {
  const published: ChatEvent[] = [];
  const events = { publish: async (e: ChatEvent) => void published.push(e) } as unknown as ChatEvents;
  return { published, events };
}

const reply = (id: string): GuestEvent =>
  ({
    type: 'message',
    message: { id, direction: 'outbound', type: 'text', text: 'You said: hi', time: '2026-11-27T10:00:00Z' },
  }) as unknown as GuestEvent;

test("a chat carrying the canary's attribute tells the site's webhooks nothing, from start to end", () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events, CANARY);
  hooks.started('canary-token', false, { genesysBffCanary: 'true' });
  hooks.heard('canary-token', reply('m1'));
  hooks.ended('canary-token', 'guest');
  expect(published).toEqual([]);

  // A customer's chat, even one with the attribute's name but another value, is told whole.
  hooks.started('customer-token', false, { genesysBffCanary: 'false', page: '/pricing' });
  hooks.heard('customer-token', reply('m2'));
  hooks.ended('customer-token', 'guest');
  expect(published.map((e) => [e.type, e.guestToken])).toEqual([
    ['chat.started', 'customer-token'],
    ['message.received', 'customer-token'],
    ['chat.ended', 'customer-token'],
  ]);
});

test('without a canary, every chat is told, whatever its attributes', () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events);
  hooks.started('t', false, { genesysBffCanary: 'true' });
  expect(published.map((e) => e.type)).toEqual(['chat.started']);
});

test('the canary chats remembered are bounded: the oldest are forgotten first', () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events, CANARY);
  for (let i = 0; i < 65; i++) hooks.started(`canary-${i}`, false, { genesysBffCanary: 'true' });
  hooks.ended('canary-64', 'guest');
  // 64 are remembered: canary-1 still is, canary-0 is not.
  hooks.ended('canary-1', 'guest');
  hooks.ended('canary-0', 'guest');
  expect(published.map((e) => e.guestToken)).toEqual(['canary-0']);
});

const newestPage = (...messages: Array<{ id: string; direction: string; type?: string; time?: string }>) =>
  ({
    messages: messages.map((m) => ({ type: 'text', text: 'said', time: '2026-11-27T10:00:00.000Z', ...m })),
    receipts: [],
  }) as unknown as NewestPage;

test("a newest page read tells the agent's and bot's messages on it, with Genesys's time; what was told here is not told again", () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events, CANARY);
  hooks.heard('t', reply('heard-live'));
  hooks.found(
    't',
    newestPage(
      { id: 'heard-live', direction: 'outbound' },
      { id: 'guest-said', direction: 'inbound' },
      { id: 'joined', direction: 'outbound', type: 'event' },
      { id: 'missed', direction: 'outbound', time: '2026-11-27T10:00:05.000Z' },
    ),
  );
  // The same page read again (a poll, another resume), then the socket hearing the reply late: nothing more.
  hooks.found('t', newestPage({ id: 'missed', direction: 'outbound' }));
  hooks.heard('t', reply('missed'));
  expect(published.map((e) => [e.type, e.key, e.at])).toEqual([
    ['message.received', 'heard-live', undefined],
    ['message.received', 'missed', Date.parse('2026-11-27T10:00:05.000Z')],
  ]);
  expect(published[1]!.data).toStrictEqual({
    message: { id: 'missed', type: 'text', text: 'said', time: '2026-11-27T10:00:05.000Z' },
  });
  // Another chat's message of the same id is its own event.
  hooks.found('u', newestPage({ id: 'missed', direction: 'outbound' }));
  expect(published.map((e) => e.guestToken)).toEqual(['t', 't', 'u']);
});

test('a newest page read tells the failed receipts on it, once, and never of a canary chat', () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events, CANARY);
  const reasons = [{ code: 'MessageNotAllowed' }];
  const page = {
    messages: [],
    receipts: [
      { messageId: 'g1', status: 'delivered', at: '2026-11-27T10:00:01.000Z' },
      { messageId: 'g2', status: 'failed', reasons, at: '2026-11-27T10:00:02.000Z' },
    ],
  } as unknown as NewestPage;
  hooks.found('t', page);
  hooks.found('t', page);
  expect(published.map((e) => [e.type, e.key, e.data, e.at])).toEqual([
    ['receipt.failed', 'g2', { messageId: 'g2', reasons }, Date.parse('2026-11-27T10:00:02.000Z')],
  ]);
  hooks.started('canary-token', false, { genesysBffCanary: 'true' });
  hooks.found('canary-token', { ...page, messages: newestPage({ id: 'c1', direction: 'outbound' }).messages });
  expect(published).toHaveLength(1);
});

const message = (over: Record<string, unknown>) =>
  ({ id: 'g1', direction: 'inbound', type: 'text', time: '2026-11-27T10:00:00.000Z', ...over }) as never;

test("what the use cases did is told with what a receiver needs of it, and a message's links that expire are not", () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events);
  hooks.started('t', true);
  hooks.sent(
    't',
    message({
      id: 'sent-1',
      text: 'Here is my receipt',
      originatingEntity: 'Human',
      from: { name: 'Ada', avatar: 'https://x.example/a.png' },
      attachments: [
        { id: 'a1', url: 'https://files.example/a1?sig=1', filename: 'receipt.pdf', mediaType: 'File', mime: 'x' },
        { url: 'https://files.example/a2?sig=2' },
      ],
    }),
  );
  hooks.sent('t', message({ id: 'sent-2', from: { avatar: 'https://x.example/a.png' }, attachments: [] }));
  hooks.uploaded('t', {
    id: 'att-1',
    fileName: 'photo.png',
    mediaType: 'image/png',
    size: 1234,
    url: 'https://files.example/att-1?sig=3',
  } as never);
  hooks.signedIn('t');
  hooks.ended('t', 'guest');
  expect(published.map(({ type, guestToken, key, data }) => ({ type, guestToken, key, data }))).toStrictEqual([
    { type: 'chat.started', guestToken: 't', key: 'chat', data: { authenticated: true } },
    {
      type: 'message.sent',
      guestToken: 't',
      key: 'sent-1',
      data: {
        message: {
          id: 'sent-1',
          type: 'text',
          text: 'Here is my receipt',
          time: '2026-11-27T10:00:00.000Z',
          originatingEntity: 'Human',
          from: { name: 'Ada' },
          attachments: [{ id: 'a1', fileName: 'receipt.pdf', mediaType: 'File' }, {}],
        },
      },
    },
    {
      type: 'message.sent',
      guestToken: 't',
      key: 'sent-2',
      data: { message: { id: 'sent-2', type: 'text', time: '2026-11-27T10:00:00.000Z' } },
    },
    {
      type: 'attachment.uploaded',
      guestToken: 't',
      key: 'att-1',
      data: { attachment: { id: 'att-1', fileName: 'photo.png', mediaType: 'image/png', size: 1234 } },
    },
    { type: 'customer.signed_in', guestToken: 't', key: 'chat', data: {} },
    { type: 'chat.ended', guestToken: 't', key: 'chat', data: { by: 'guest' } },
  ]);
  expect(published.every((e) => e.at === undefined)).toBe(true);
});

test("what Genesys said is told by kind: the guest's echo, a reply, a join, a leave, an end, a failed receipt, an expiry", () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events);
  const heard: GuestEvent[] = [
    { type: 'message', message: message({ id: 'echo' }) },
    reply('r1'),
    { type: 'presence', presence: 'join', name: 'Grace', genesysId: 'p1', time: '2026-11-27T10:00:01Z' },
    { type: 'presence', presence: 'join', time: '2026-11-27T10:00:02Z' },
    { type: 'presence', presence: 'join' },
    { type: 'presence', presence: 'disconnect', name: 'Grace', genesysId: 'p2' },
    { type: 'presence', presence: 'clear', genesysId: 'p3' },
    { type: 'presence', presence: 'signin', genesysId: 'p4' },
    { type: 'presence', presence: 'disconnect', readOnly: true, genesysId: 'p5' },
    { type: 'receipt', receipt: { messageId: 'g7', status: 'delivered', at: '2026-11-27T10:00:03Z' } },
    { type: 'receipt', receipt: { messageId: 'g8', status: 'failed', at: '2026-11-27T10:00:04Z' } },
    { type: 'receipt', receipt: { messageId: 'g8', status: 'failed', at: '2026-11-27T10:00:05Z' } },
    { type: 'typing', durationMs: 5000 },
    { type: 'session', state: 'reconnecting' },
    { type: 'session', state: 'expired' },
    { type: 'notice', code: 'masked', detectors: ['card'] },
  ];
  heard.forEach((event) => hooks.heard('t', event));
  expect(published.map(({ type, key, data }) => [type, key, data])).toStrictEqual([
    ['message.sent', 'echo', { message: { id: 'echo', type: 'text', time: '2026-11-27T10:00:00.000Z' } }],
    ['message.received', 'r1', { message: expect.objectContaining({ id: 'r1', text: 'You said: hi' }) }],
    ['agent.joined', 'p1', { agent: { name: 'Grace' } }],
    // Without Genesys's id, the kind and time make the key.
    ['agent.joined', 'join:2026-11-27T10:00:02Z', {}],
    ['agent.joined', 'join:', {}],
    ['agent.left', 'p2', { agent: { name: 'Grace' } }],
    ['chat.ended', 'chat', { by: 'agent' }],
    // The failed receipt heard twice (a reconnect's replay) is told once; its reasons are a list even when absent.
    ['receipt.failed', 'g8', { messageId: 'g8', reasons: [] }],
    ['chat.ended', 'chat', { by: 'expiry' }],
  ]);
});

test('a time Genesys did not give, or gave unreadable, is told as now', () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events);
  hooks.found(
    't',
    newestPage(
      { id: 'm1', direction: 'outbound', time: 'not a time' },
      { id: 'm2', direction: 'outbound', time: undefined },
    ),
  );
  expect(published.map((e) => e.key)).toEqual(['m1', 'm2']);
  for (const event of published) expect(event).not.toHaveProperty('at');
});

test('what was told is remembered for the last 10,000 replies and failed receipts: older ones are told again', () => {
  const { published, events } = recorder();
  const hooks = new ChatWebhooks(events);
  for (let n = 0; n <= 10_000; n++) hooks.heard('t', reply(`r${n}`));
  expect(published).toHaveLength(10_001);
  // r1 is still remembered; r0, the oldest, is not.
  hooks.heard('t', reply('r1'));
  expect(published).toHaveLength(10_001);
  hooks.heard('t', reply('r0'));
  expect(published.at(-1)!.key).toBe('r0');
  expect(published).toHaveLength(10_002);
});

test('a deployment without webhooks tells nothing, and takes no harm', () => {
  const hooks = new ChatWebhooks(undefined, CANARY);
  expect(() => {
    hooks.started('t', false);
    hooks.heard('t', reply('r1'));
    hooks.found('t', newestPage({ id: 'm1', direction: 'outbound' }));
    hooks.ended('t', 'guest');
  }).not.toThrow();
});
