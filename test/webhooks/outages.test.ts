import { startSimulator, type Simulator } from '../../simulator';
import { startInstance, type Instance } from '../support/instances';
import { startComposeRedis, type RedisServer } from '../support/redis';
import { PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, WEBHOOK_SECRET, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Webhooks through faults, for real: two instances (each its own process) on Redis run as
 * deploy/docker-compose.scale.yml runs it (append-only file, fsync every second), the strict simulator, and a
 * receiver that holds every delivery unanswered. One instance is SIGKILLed with deliveries in flight and Redis is
 * restarted; then the receiver answers. Every event of every chat arrives, verified, and an event that arrives twice
 * arrives under the same webhook-id (at least once; receivers drop repeats by id).
 *
 * Redis is stopped as a restart stops it (SIGTERM: it writes its file out); a SIGKILL of Redis loses what its last
 * second of `appendfsync everysec` had not written, webhooks as every other record (docs/operations.md).
 *
 * @needs redis-server
 * @lane full — runs two instances of the service as processes of their own (about 20 s)
 */

let sim: Simulator;
let redis: RedisServer;
let receiver: WebhookReceiver;
let instances: Instance[] = [];

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startComposeRedis();
  receiver = await startWebhookReceiver();
  receiver.answer(0);
  const env = simulatorEnv(sim, {
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET,
    WEBHOOK_RETRY_FIRST_MS: '100',
    WEBHOOK_TIMEOUT_MS: '1000',
  });
  instances = await Promise.all([startInstance(env), startInstance(env)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await receiver?.close();
  await redis?.stop();
  await sim?.stop();
}, 30_000);

interface Chat {
  token: string;
  sent: string[];
}

async function call(instance: Instance, method: string, path: string, token?: string, body?: object) {
  const res = await fetch(`${instance.url}${path}`, {
    method,
    headers: {
      Origin: PAGE_ORIGIN,
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body && JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** A chat started on one instance, its messages sent through both. */
async function chat(first: Instance, second: Instance, texts: string[]): Promise<Chat> {
  const started = await call(first, 'POST', '/guest-session', undefined, {});
  const c: Chat = { token: started.sessionToken as string, sent: [] };
  for (const [n, text] of texts.entries()) {
    const sent = await call(n % 2 === 0 ? first : second, 'POST', '/messages', c.token, { text });
    c.sent.push((sent.message as { id: string }).id);
    c.token = (sent.sessionToken as string | undefined) ?? c.token;
  }
  return c;
}

test('an instance killed mid-delivery and Redis restarted: every event arrives, repeats only by the same id', async () => {
  const [a, b] = instances as [Instance, Instance];
  const chats = [await chat(a, b, ['one', 'two']), await chat(b, a, ['three', 'four'])];
  // Deliveries in flight from both instances, held unanswered by the receiver.
  await waitFor(() => new Set(receiver.received.map((d) => d.id)).size >= 4);
  await a.kill();
  await redis.kill('SIGTERM');
  await redis.restart();
  await waitFor(async () => {
    const ready = (await (await fetch(`${b.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };
    if (!ready.checks.redis?.ok) throw new Error('Redis not back yet');
  });
  // A chat after the restart, on the instance left.
  chats.push(await chat(b, b, ['five']));
  receiver.answer(204);

  const chatIds = new Set<string>();
  const expected = () => {
    const accepted = receiver.accepted();
    const started = accepted.filter((d) => d.body.type === 'chat.started').map((d) => d.body.chat.id);
    const sent = new Set(
      accepted.filter((d) => d.body.type === 'message.sent').map((d) => (d.body.data.message as { id: string }).id),
    );
    started.forEach((id) => chatIds.add(id));
    return chatIds.size === chats.length && chats.every((c) => c.sent.every((id) => sent.has(id)));
  };
  await waitFor(expected, 60_000, 100);
  expect(receiver.unverified).toEqual([]);
  // The same event (its type, chat and message) always under one webhook-id: a repeat is a redelivery, never another event.
  const idsOf = new Map<string, Set<string>>();
  for (const d of receiver.received) {
    const what = `${d.body.type} ${d.body.chat.id} ${(d.body.data.message as { id?: string } | undefined)?.id ?? ''}`;
    idsOf.set(what, (idsOf.get(what) ?? new Set()).add(d.id));
  }
  expect([...idsOf.values()].filter((ids) => ids.size > 1)).toEqual([]);
  expect(chatIds.size).toBe(chats.length);
}, 120_000);
