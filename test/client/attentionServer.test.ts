import { attentionTo } from '../../client/src';

/**
 * The unread count where there is no page (a component rendered on the server, Next.js): nothing to listen to, no
 * title, and nothing hidden, so nothing counts and nothing throws.
 */
test('without a document it is made, counts nothing and is disposed without throwing', () => {
  expect(typeof document).toBe('undefined');
  const attention = attentionTo({ titleBadge: true });
  attention.arrived({ id: 'm-1', direction: 'outbound', type: 'text', text: 'Hi', time: '' });
  expect(attention.unread).toBe(0);
  expect(attention.permission).toBe('unsupported');
  expect(() => attention.dispose()).not.toThrow();
});

test('a notification clicked where there is no window to focus still closes', () => {
  expect(typeof (globalThis as { focus?: unknown }).focus).toBe('undefined');
  const closed: string[] = [];
  let clicked: (() => void) | null = null;
  class FakeNotification {
    static permission = 'granted';
    constructor(readonly title: string) {}
    set onclick(handler: () => void) {
      clicked = handler;
    }
    close() {
      closed.push(this.title);
    }
  }
  // A page handed in as an option (a frame's document, a test's): hidden, so the message counts and notifies.
  const page = { visibilityState: 'hidden', title: 'Shop', addEventListener() {}, removeEventListener() {} };
  const attention = attentionTo({
    notifications: true,
    Notification: FakeNotification as unknown as typeof Notification,
    document: page as unknown as Document,
  });
  attention.arrived({ id: 'm-1', direction: 'outbound', type: 'text', text: 'Hi', time: '', from: { name: 'Alex' } });
  expect(attention.unread).toBe(1);
  expect(() => clicked!()).not.toThrow();
  expect(closed).toEqual(['Alex']);
});
