import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { startInstance, type Instance } from '../support/instances';
import { startNginx, type Nginx } from '../support/nginx';
import { startComposeRedis, type RedisServer } from '../support/redis';
import { openStream } from '../support/sse';
import { PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { sleep, waitFor } from '../support/wait';
import { startWebhookReceiver, WEBHOOK_SECRET, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Webhooks through faults, for real: two instances (each its own process) behind the shipped nginx
 * (deploy/nginx/bff.conf), on Redis run as deploy/docker-compose.scale.yml runs it (append-only file, fsync every
 * second), the strict simulator, and a
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
let proxy: Nginx;

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
  proxy = await startNginx(instances.map((i) => i.url.replace('http://', '')));
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(instances.map((i) => i.stop()));
  await receiver?.close();
  await redis?.stop();
  await sim?.stop();
}, 30_000);

interface Chat {
  token: string;
  sent: string[];
}

/**
 * A request as the README's client makes it: a send carries an Idempotency-Key, and a 503 (the chat's Genesys
 * connection handed between instances, Redis coming back) is retried after its Retry-After, a bounded number of times.
 */
async function call(
  instance: Pick<Instance, 'url'>,
  method: string,
  path: string,
  token?: string,
  body?: object,
  routingKey?: string,
) {
  const key = randomUUID();
  // Through nginx, the chat's routing key picks its instance (deploy/nginx/bff.conf).
  const routed = routingKey ? `${path}${path.includes('?') ? '&' : '?'}routingKey=${routingKey}` : path;
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${instance.url}${routed}`, {
      method,
      signal: AbortSignal.timeout(30_000),
      headers: {
        Origin: PAGE_ORIGIN,
        'Content-Type': 'application/json',
        ...(path === '/messages' && method === 'POST' ? { 'Idempotency-Key': key } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body && JSON.stringify(body),
    });
    const answer = (await res.json()) as Record<string, unknown>;
    if (res.status === 503 && attempt < 10) {
      await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      continue;
    }
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(answer)}`);
    return answer;
  }
}

/** A chat started on one instance, its messages sent through both (or through nginx, as the site's pages do). */
async function chat(first: Pick<Instance, 'url'>, second: Pick<Instance, 'url'>, texts: string[]): Promise<Chat> {
  const started = await call(first, 'POST', '/guest-session', undefined, {});
  const c: Chat = { token: started.sessionToken as string, sent: [] };
  const routingKey = started.routingKey as string;
  for (const [n, text] of texts.entries()) {
    const sent = await call(n % 2 === 0 ? first : second, 'POST', '/messages', c.token, { text }, routingKey);
    c.sent.push((sent.message as { id: string }).id);
    c.token = (sent.sessionToken as string | undefined) ?? c.token;
  }
  return c;
}

/** Chats of earlier tests, left out of the later ones' counts. */
const earlier = new Set<string>();

test('two tabs, one on each instance: each agent message is one message.received, whichever instance heard it', async () => {
  const [a, b] = instances as [Instance, Instance];
  receiver.answer(204);
  const started = await call(a, 'POST', '/guest-session', undefined, {});
  let token = started.sessionToken as string;
  const tabs = await Promise.all(
    [a, b].map((instance) =>
      openStream(`${instance.url}/messages/stream`, { Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN }),
    ),
  );
  const sentIds: string[] = [];
  for (const [n, text] of ['talk to a person', 'where is my order?', 'thanks'].entries()) {
    // Sent through one instance, its echo heard by whichever holds the socket: both tell message.sent.
    const sent = await call(n % 2 === 0 ? a : b, 'POST', '/messages', token, { text });
    sentIds.push((sent.message as { id: string }).id);
    token = (sent.sessionToken as string | undefined) ?? token;
  }
  const history = await call(b, 'GET', '/messages?pageSize=100', token);
  const outbound = (history.messages as Array<{ id: string; direction: string }>)
    .filter((m) => m.direction === 'outbound')
    .map((m) => m.id);
  expect(outbound.length).toBeGreaterThanOrEqual(3);
  // Each instance's tab asks for the chat's socket in turn (the proxy would keep them on one; here it moves between
  // the two), so both instances hear Genesys for this chat at some point.
  const received = () =>
    receiver.received
      .filter((d) => d.body.type === 'message.received')
      .map((d) => (d.body.data.message as { id: string }).id);
  await waitFor(() => outbound.every((id) => received().includes(id)));
  expect(receiver.unverified).toEqual([]);
  expect(received().sort()).toEqual([...outbound].sort());
  const sent = receiver.received
    .filter((d) => d.body.type === 'message.sent')
    .map((d) => (d.body.data.message as { id: string }).id);
  expect(sent.sort()).toEqual([...sentIds].sort());
  for (const tab of tabs) tab.close();
  receiver.received.forEach((d) => earlier.add(d.body.chat.id));
  receiver.answer(0);
}, 60_000);

test('an instance killed mid-delivery and Redis restarted: every event arrives, repeats only by the same id', async () => {
  const [a, b] = instances as [Instance, Instance];
  const before = receiver.received.length;
  const chats = [
    await chat(a, b, ['one', 'two']),
    await chat(b, a, ['three', 'four']),
    await chat(proxy, proxy, ['through nginx']),
  ];
  // Deliveries in flight from both instances, held unanswered by the receiver.
  await waitFor(() => new Set(receiver.received.slice(before).map((d) => d.id)).size >= 4);
  await a.kill();
  await redis.kill('SIGTERM');
  await redis.restart();
  await waitFor(async () => {
    const ready = (await (await fetch(`${b.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };
    if (!ready.checks.redis?.ok) throw new Error('Redis not back yet');
  });
  // A chat after the restart, through nginx: the instance left takes it.
  chats.push(await chat(proxy, proxy, ['five']));
  receiver.answer(204);

  const chatIds = new Set<string>();
  const expected = () => {
    const accepted = receiver.accepted();
    const started = accepted.filter((d) => d.body.type === 'chat.started').map((d) => d.body.chat.id);
    const sent = new Set(
      accepted.filter((d) => d.body.type === 'message.sent').map((d) => (d.body.data.message as { id: string }).id),
    );
    started.filter((id) => !earlier.has(id)).forEach((id) => chatIds.add(id));
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
