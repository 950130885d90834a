import { startSimulator, type Simulator } from '../../simulator';
import { startInstance, type Instance } from '../support/instances';
import { freePort } from '../support/ports';
import { startRedis, type RedisServer } from '../support/redis';
import { startSmtpReceiver, type SmtpReceiver } from '../support/smtpReceiver';
import { PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The per-address daily e-mail cap across instances, for real: two instances (each its own process) sharing a
 * Redis, the strict simulator, and an SMTP server on loopback. Chats on both instances name one address at once;
 * the SMTP server receives EMAIL_DAILY_MAX e-mails in all, not that many per instance.
 *
 * @needs redis-server
 */

const DAILY_MAX = 2;
const CHATS_PER_INSTANCE = 15;
const ADDRESS = 'shared@example.com';

let sim: Simulator;
let redis: RedisServer;
let smtp: SmtpReceiver;
let instances: Instance[] = [];
/** Each instance's metrics listener, on a port of its own. */
let metricsUrls: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startRedis();
  smtp = await startSmtpReceiver();
  const env = simulatorEnv(sim, {
    REDIS_URL: redis.url,
    LOG_LEVEL: 'info',
    SMTP_URL: smtp.url,
    EMAIL_FROM: 'chat@shop.example.com',
    EMAIL_DAILY_MAX: String(DAILY_MAX),
  });
  const ports = [await freePort(), await freePort()];
  metricsUrls = ports.map((port) => `http://127.0.0.1:${port}/metrics`);
  instances = await Promise.all(ports.map((port) => startInstance({ ...env, METRICS_PORT: String(port) })));
}, 90_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await smtp?.close();
  await redis?.stop();
  await sim?.stop();
}, 60_000);

/** The confirmation e-mails an instance has decided (sent, capped or failed; never deferred here), from its metrics. */
async function confirmationsDecided(metricsUrl: string): Promise<number> {
  const metrics = await (await fetch(metricsUrl)).text();
  return [...metrics.matchAll(/genesys_bff_emails_total\{kind="confirmation",outcome="\w+"[^}]*\} (\d+)/g)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

async function optIn(instance: Instance): Promise<void> {
  const started = await fetch(`${instance.url}/guest-session`, {
    method: 'POST',
    headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
  });
  expect(started.status).toBe(201);
  const { sessionToken } = (await started.json()) as { sessionToken: string };
  const put = await fetch(`${instance.url}/notifications/email`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${sessionToken}`, Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ address: ADDRESS }),
  });
  expect(put.status).toBe(202);
}

test(`an address gets EMAIL_DAILY_MAX (${DAILY_MAX}) e-mails in all, whichever instances its chats are on`, async () => {
  await Promise.all(instances.flatMap((instance) => Array.from({ length: CHATS_PER_INSTANCE }, () => optIn(instance))));
  await waitFor(async () => {
    // An e-mail is capped where it was asked for, and sent by whichever instance takes it from the shared outbox.
    const decided = await Promise.all(metricsUrls.map(confirmationsDecided));
    expect(decided[0]! + decided[1]!).toBe(2 * CHATS_PER_INSTANCE);
  });
  expect(smtp.to(ADDRESS)).toHaveLength(DAILY_MAX);
});
