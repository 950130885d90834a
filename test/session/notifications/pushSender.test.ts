import fc from 'fast-check';
import { pushes } from '../../../src/observability/metrics';
import { PushSender } from '../../../src/session/notifications';
import { captureLogger } from '../../support/app';
import {
  browserKeys,
  decryptPush,
  startPushReceiver,
  vapidPair,
  verifyVapid,
  type PushReceiver,
} from '../../support/pushReceiver';

/**
 * One Web Push and its outcomes, against a push service on loopback: what it carries is judged by the test's own
 * RFC 8291 decryption and RFC 8292 check (test/support/pushReceiver.ts), over generated payloads.
 */

const vapid = { ...vapidPair(), subject: 'mailto:ops@example.com' };
let receiver: PushReceiver;

beforeAll(async () => {
  receiver = await startPushReceiver();
});
afterAll(() => receiver.close());
afterEach(() => receiver.answerWith(201));

const sender = (log = captureLogger('debug')) =>
  new PushSender({ vapid, logger: log.logger, timeoutMs: 2000, baseDelayMs: 1, maxDelayMs: 5 });

const count = async (outcome: string) =>
  (await pushes.get()).values.find((v) => v.labels.outcome === outcome && v.labels.deployment === 'default')?.value ??
  0;

let paths = 0;

describe('what a push carries', () => {
  it('decrypts, for the subscription it was made for, to the payload sent, with a VAPID header for the service', async () => {
    const one = sender();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          type: fc.constant('reply'),
          from: fc.string(),
          preview: fc.string({ maxLength: 120 }),
          url: fc.webUrl(),
        }),
        async (payload) => {
          const keys = browserKeys();
          const path = `/p${++paths}`;
          const target = { endpoint: `${receiver.origin}${path}`, p256dh: keys.p256dh, auth: keys.auth };
          expect(await one.send(target, payload)).toBe('sent');
          const push = await receiver.nth(path, 1);
          expect(push.headers['content-encoding']).toBe('aes128gcm');
          // Kept an hour by a push service that cannot deliver it yet, and delivered at once when it can.
          expect(push.headers.ttl).toBe('3600');
          expect(push.headers.urgency).toBe('high');
          expect(JSON.parse(decryptPush(push.body, keys))).toEqual(payload);
          const claims = await verifyVapid(push.headers, vapid.publicKey, receiver.origin);
          expect(claims.sub).toBe(vapid.subject);
          // Another browser's keys do not open it.
          expect(() => decryptPush(push.body, browserKeys())).toThrow();
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('outcomes', () => {
  const target = () => {
    const keys = browserKeys();
    const path = `/o${++paths}`;
    return { path, target: { endpoint: `${receiver.origin}${path}`, p256dh: keys.p256dh, auth: keys.auth } };
  };
  const payload = { type: 'reply', from: 'agent', url: 'https://shop.example.com/' };

  it.each([404, 410])('a %i is `gone`, not retried', async (status) => {
    receiver.answerWith(status);
    const before = await count('gone');
    const { path, target: t } = target();
    expect(await sender().send(t, payload)).toBe('gone');
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(1);
    expect(await count('gone')).toBe(before + 1);
  });

  it.each([429, 500, 503])('a %i is retried, a bounded number of times, then `failed`', async (status) => {
    receiver.answerWith(status);
    const [retried, failed] = [await count('retried'), await count('failed')];
    const { path, target: t } = target();
    const log = captureLogger('debug');
    expect(await sender(log).send(t, payload)).toBe('failed');
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(3);
    expect(await count('retried')).toBe(retried + 2);
    expect(await count('failed')).toBe(failed + 1);
    expect(log.messages('warn')).toContain('push failed');
  });

  // 300 is past 2xx and not a redirect fetch would refuse: the push service did not take the push.
  it.each([300, 400])('a %i is `failed` at once', async (status) => {
    receiver.answerWith(status);
    const { path, target: t } = target();
    expect(await sender().send(t, payload)).toBe('failed');
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(1);
  });

  it('a push the push service took but did not answer in time is `failed`, and never sent again', async () => {
    receiver.answerWith('never');
    const { path, target: t } = target();
    const before = await count('retried');
    const quick = new PushSender({ vapid, logger: captureLogger('debug').logger, timeoutMs: 200, baseDelayMs: 1 });
    expect(await quick.send(t, payload)).toBe('failed');
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(1);
    expect(await count('retried')).toBe(before);
  });

  it('a push service that is not there is retried, then `failed`', async () => {
    const keys = browserKeys();
    const closed = await startPushReceiver();
    const endpoint = `${closed.origin}/x`;
    await closed.close();
    expect(await sender().send({ endpoint, p256dh: keys.p256dh, auth: keys.auth }, payload)).toBe('failed');
  });

  const lines = (log: ReturnType<typeof captureLogger>, msg: string) => log.lines().filter((l) => l.msg === msg);

  it('any 2xx is `sent`, counted and logged with its service, status and attempt', async () => {
    receiver.answerWith(200);
    const before = await count('sent');
    const { target: t } = target();
    const log = captureLogger('debug');
    expect(await sender(log).send(t, payload)).toBe('sent');
    expect(await count('sent')).toBe(before + 1);
    expect(lines(log, 'push sent')).toEqual([
      expect.objectContaining({ pushService: new URL(receiver.origin).host, status: 200, attempt: 1 }),
    ]);
  });

  it('a gone subscription is logged with its status', async () => {
    receiver.answerWith(410);
    const log = captureLogger('debug');
    const { target: t } = target();
    await sender(log).send(t, payload);
    expect(lines(log, 'push subscription gone; removing it')).toEqual([
      expect.objectContaining({ pushService: new URL(receiver.origin).host, status: 410 }),
    ]);
  });

  it('a push that timed out is counted `failed` and logged as not sent again', async () => {
    receiver.answerWith('never');
    const before = await count('failed');
    const log = captureLogger('debug');
    const quick = new PushSender({ vapid, logger: log.logger, timeoutMs: 200 });
    const { target: t } = target();
    expect(await quick.send(t, payload)).toBe('failed');
    expect(await count('failed')).toBe(before + 1);
    expect(lines(log, 'push timed out; not sent again, as it may have arrived')).toEqual([
      expect.objectContaining({ level: 40, pushService: new URL(receiver.origin).host, attempt: 1 }),
    ]);
  });

  it('waits twice as long before each try, up to its longest wait, and logs each wait', async () => {
    receiver.answerWith(503);
    const log = captureLogger('debug');
    const patient = new PushSender({
      vapid,
      logger: log.logger,
      timeoutMs: 2000,
      attempts: 4,
      baseDelayMs: 20,
      maxDelayMs: 50,
    });
    const { target: t } = target();
    expect(await patient.send(t, payload)).toBe('failed');
    expect(lines(log, 'push retried').map((l) => l.waitMs)).toEqual([20, 40, 50]);
    expect(lines(log, 'push retried')[0]).toMatchObject({ level: 30, status: 503 });
    expect(lines(log, 'push failed')).toEqual([expect.objectContaining({ status: 503, attempt: 4, level: 40 })]);
  });

  it.each([
    ['12', 50],
    ['3', 50],
    ['0', 0],
    ['1234567', 7],
    ['12 seconds', 7],
    ['in 12', 7],
    ['Fri, 31 Dec 1999 23:59:59 GMT', 7],
  ])(
    'a Retry-After of %j is waited out (bounded by the longest wait) when it is seconds: %i ms',
    async (value, waitMs) => {
      receiver.answerWith(429, { 'retry-after': value });
      const log = captureLogger('debug');
      const { target: t } = target();
      const one = new PushSender({
        vapid,
        logger: log.logger,
        timeoutMs: 2000,
        attempts: 2,
        baseDelayMs: 7,
        maxDelayMs: 50,
      });
      expect(await one.send(t, payload)).toBe('failed');
      expect(lines(log, 'push retried').map((l) => l.waitMs)).toEqual([waitMs]);
    },
  );
});
