import { openStream, type SseStream } from '../../support/sse';
import { bearer, identityToken, type Stack } from '../../support/stack';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtpReceiver';
import { browserKeys, decryptPush, type PushReceiver } from '../../support/pushReceiver';
import { closePushStack, startPushStack, type PushStack } from '../../support/pushStack';
import { waitFor } from '../../support/wait';

/**
 * A chat opted in to both Web Push and e-mail, against the strict simulator, a push service and an SMTP server on
 * loopback: one watch serves both, and either going leaves the other working. E-mail's window (1 s) is shorter than
 * push's coalescing (3 s), so an e-mail that was going to go for a reply goes before that reply's push.
 */

let pushStack: PushStack;
let stack: Stack;
let smtp: SmtpReceiver;
let receiver: PushReceiver;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  pushStack = await startPushStack({
    SMTP_URL: smtp.url,
    EMAIL_FROM: 'chat@shop.example.com',
    EMAIL_AFTER_SECONDS: '1',
    EMAIL_PREVIEW: 'on',
  });
  ({ stack, receiver } = pushStack);
});

afterAll(async () => {
  await closePushStack(pushStack);
  await smtp?.close();
});

const human = { originatingEntity: 'Human' as const };
const watchesStarted = () =>
  stack.log.lines().filter((l) => l.msg === 'watching a chat nobody is looking at, for replies to push').length;

/** A signed-in chat (its identity vouches for `address`) opted in to both, whose page then left. */
async function optedInToBoth(address: string, path: string) {
  const { token, gt } = await stack.newGuest({ identityToken: await identityToken({ sub: address, email: address }) });
  const stream: SseStream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
  const keys = browserKeys();
  const push = await stack.http
    .put('/notifications/push')
    .set(bearer(token))
    .send({ endpoint: `${receiver.origin}${path}`, keys: { p256dh: keys.p256dh, auth: keys.auth } });
  expect(push.status).toBe(204);
  expect((await stack.http.put('/notifications/email').set(bearer(token)).send({ address })).body).toEqual({
    confirmed: true,
  });
  const before = watchesStarted();
  stream.close();
  await waitFor(() => expect(watchesStarted()).toBeGreaterThan(before));
  return { token, gt, keys };
}

const previewOf = (body: Buffer, keys: ReturnType<typeof browserKeys>) => JSON.parse(decryptPush(body, keys)).preview;

it('keeps e-mailing when the push subscription goes', async () => {
  const address = 'both-push-gone@example.com';
  const { token, gt, keys } = await optedInToBoth(address, '/push-gone');
  stack.sim.agent.say(gt, 'First', human);
  expect(previewOf((await receiver.nth('/push-gone', 1)).body, keys)).toBe('First');
  expect((await smtp.nth(address, 1)).text).toContain('> First');

  expect((await stack.http.delete('/notifications/push').set(bearer(token))).status).toBe(204);
  stack.sim.agent.say(gt, 'Second', human);
  expect((await smtp.nth(address, 2)).text).toContain('> Second');
});

it('keeps pushing when the e-mail opt-in goes', async () => {
  const address = 'both-email-gone@example.com';
  const { token, gt, keys } = await optedInToBoth(address, '/email-gone');
  stack.sim.agent.say(gt, 'First', human);
  expect(previewOf((await receiver.nth('/email-gone', 1)).body, keys)).toBe('First');
  expect((await smtp.nth(address, 1)).text).toContain('> First');

  expect((await stack.http.delete('/notifications/email').set(bearer(token))).status).toBe(204);
  stack.sim.agent.say(gt, 'Second', human);
  expect(previewOf((await receiver.nth('/email-gone', 2)).body, keys)).toBe('Second');
  expect(smtp.to(address)).toHaveLength(1);
});
