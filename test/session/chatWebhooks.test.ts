import type { GuestEvent } from '../../src/genesys/guest';
import { ChatWebhooks } from '../../src/session/chatWebhooks';
import type { ChatEvent, ChatEvents } from '../../src/webhooks';

/**
 * The canary's chats are synthetic conversations (docs/operations.md#canaries): the site's webhooks hear nothing
 * of them, while every other chat's events go out as before.
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
