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
  expect(published[1]!.data).toEqual({
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
