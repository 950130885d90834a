import { limitsRefused } from '../../../src/observability/metrics';
import { openStream } from '../../support/sse';
import { bearer, startStack, type Stack } from '../../support/stack';
import { browserKeys, vapidPair } from '../../support/pushReceiver';
import { waitFor } from '../../support/wait';

/**
 * NOTIFY_SOCKETS_MAX is a real ceiling on the sockets an instance keeps to watch chats for Web Push: at 0 this
 * instance watches nothing, counts each chat it passes by, and its live chats are untouched.
 */

const vapid = vapidPair();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:ops@example.com',
      NOTIFY_AFTER_SECONDS: '1',
      NOTIFY_SOCKETS_MAX: '0',
    },
  });
});
afterAll(() => stack?.close());

const refusedAtCeiling = async () =>
  (await limitsRefused.get()).values.find((v) => v.labels.limit === 'notify_socket_max')?.value ?? 0;

test('a chat nobody looks at is not watched past the ceiling, and the refusal is counted', async () => {
  const { token } = await stack.newSession();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session');
  const keys = browserKeys();
  const put = await stack.http
    .put('/notifications/push')
    .set(bearer(token))
    .send({ endpoint: 'https://push.example.com/x', keys: { p256dh: keys.p256dh, auth: keys.auth } });
  expect(put.status).toBe(204);
  const before = await refusedAtCeiling();
  stream.close();
  await waitFor(async () => expect(await refusedAtCeiling()).toBeGreaterThan(before));
  expect(stack.log.lines().filter((l) => l.msg.startsWith('watching a chat'))).toHaveLength(0);
  // The live chat itself is served as ever.
  expect((await stack.http.get('/capabilities').set(bearer(token))).status).toBe(200);
});
