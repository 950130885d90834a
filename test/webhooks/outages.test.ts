import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
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
 * receiver. The receiver stopped (connections refused) across several backoff steps, then started: every event of
 * the chats arrives once. Then, the receiver holding every delivery unanswered, one instance is SIGKILLed with
 * deliveries in flight (the bot perhaps still answering) and Redis is restarted; each chat is read again through the
 * instance left, and the receiver answers. Every event of every chat (its start, sends, the bot's answers, even one
 * the killed instance heard and never queued, its end) arrives, verified, and an event that arrives twice arrives
 * under the same webhook-id (at least once; receivers drop repeats by id). A downtime of minutes is test/webhooks/courier.test.ts's, on a
 * clock of its own.
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
 * What the webhook outbox in Redis holds queued (not dead): each entry's failed attempts and last error, read from
 * the queue's keys (src/store/redis/redisQueue.ts: `{…webhooks:outbox}:due` and `:values`).
 */
async function queuedInOutbox(): Promise<Array<{ type: string; attempts: number; lastError?: string }>> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const entries: Array<{ type: string; attempts: number; lastError?: string }> = [];
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', '*webhooks:outbox}:due', 'COUNT', '500');
      cursor = next;
      for (const due of keys) {
        const values = due.replace(/:due$/, ':values');
        for (const id of await client.zrange(due, '0', '-1')) {
          const value = await client.hget(values, id);
          if (value) entries.push(JSON.parse(value) as { type: string; attempts: number; lastError?: string });
        }
      }
    } while (cursor !== '0' && ++rounds < 1000);
    return entries;
  } finally {
    client.disconnect();
  }
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

/** The ids of the bot's answers, once it has answered each of the chat's sends (its history, as Genesys keeps it). */
async function answersIn(via: Pick<Instance, 'url'>, c: Chat): Promise<string[]> {
  let outbound: string[] = [];
  await waitFor(async () => {
    const history = await call(via, 'GET', '/messages?pageSize=100', c.token);
    outbound = (history.messages as Array<{ id: string; direction: string }>)
      .filter((m) => m.direction === 'outbound')
      .map((m) => m.id);
    return outbound.length >= c.sent.length;
  });
  return outbound;
}

/** Ends the chat as its customer does. */
async function end(via: Pick<Instance, 'url'>, c: Chat): Promise<void> {
  const ended = await fetch(`${via.url}/guest-session`, {
    method: 'DELETE',
    headers: { Origin: PAGE_ORIGIN, Authorization: `Bearer ${c.token}` },
  });
  expect(ended.status).toBe(204);
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
  // The bot answers each message in its own time: history is read once its three answers were told.
  const received = () =>
    receiver.received
      .filter((d) => d.body.type === 'message.received' && !earlier.has(d.body.chat.id))
      .map((d) => (d.body.data.message as { id: string }).id);
  await waitFor(() => new Set(received()).size >= 3);
  const history = await call(b, 'GET', '/messages?pageSize=100', token);
  const outbound = (history.messages as Array<{ id: string; direction: string }>)
    .filter((m) => m.direction === 'outbound')
    .map((m) => m.id);
  expect(outbound.length).toBeGreaterThanOrEqual(3);
  // Each instance's tab asks for the chat's socket in turn (the proxy would keep them on one; here it moves between
  // the two), so both instances hear Genesys for this chat at some point.
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

test('the receiver refusing connections across several backoff steps, then up: every event arrives, none twice', async () => {
  const [a, b] = instances as [Instance, Instance];
  await receiver.stop();
  receiver.answer(204);
  const before = receiver.received.length;
  const chats = [await chat(a, b, ['six', 'seven']), await chat(proxy, proxy, ['eight'])];
  // Each chat ended by its customer once the bot has answered every message: its end goes through the outage too.
  const answers: string[] = [];
  for (const c of chats) {
    answers.push(...(await answersIn(a, c)));
    await end(a, c);
  }
  // Starts, sends, the bot's answers and ends all queued, and each refused at least four times, backing off between.
  const expectedCount = chats.length * 2 + chats.reduce((n, c) => n + c.sent.length, 0) + answers.length;
  await waitFor(
    async () => {
      const queued = await queuedInOutbox();
      return queued.length >= expectedCount && queued.every((e) => e.attempts >= 4 && e.lastError === 'ECONNREFUSED');
    },
    60_000,
    100,
  );
  expect(receiver.received.length).toBe(before);
  await receiver.start();

  // An earlier test's chat (never ended) tells nothing more, but is left out all the same.
  const arrived = () => receiver.received.slice(before).filter((d) => !earlier.has(d.body.chat.id));
  await waitFor(async () => arrived().length >= expectedCount && (await queuedInOutbox()).length === 0, 60_000, 100);
  const deliveries = arrived();
  expect(receiver.unverified).toEqual([]);
  expect(deliveries.every((d) => d.status === 204)).toBe(true);
  // None twice by id, and exactly the chats' events: a start and an end each, every send, every answer.
  expect(new Set(deliveries.map((d) => d.id)).size).toBe(deliveries.length);
  expect(deliveries).toHaveLength(expectedCount);
  const chatIds = new Set(deliveries.map((d) => d.body.chat.id));
  expect(chatIds.size).toBe(chats.length);
  for (const id of chatIds) {
    const types = deliveries.filter((d) => d.body.chat.id === id).map((d) => d.body.type);
    expect([types.filter((t) => t === 'chat.started'), types.filter((t) => t === 'chat.ended')]).toEqual([
      ['chat.started'],
      ['chat.ended'],
    ]);
  }
  const messagesOf = (type: string) =>
    deliveries.filter((d) => d.body.type === type).map((d) => (d.body.data.message as { id: string }).id);
  expect(messagesOf('message.sent').sort()).toEqual(chats.flatMap((c) => c.sent).sort());
  expect(messagesOf('message.received').sort()).toEqual([...answers].sort());
  chatIds.forEach((id) => earlier.add(id));
  receiver.answer(0);
}, 120_000);

test('an instance killed mid-delivery and Redis restarted: every event arrives, repeats only by the same id', async () => {
  const [a, b] = instances as [Instance, Instance];
  const before = receiver.received.length;
  const chats = [
    await chat(a, b, ['one', 'two']),
    await chat(b, a, ['three', 'four']),
    await chat(proxy, proxy, ['through nginx']),
  ];
  // Deliveries in flight from both instances, held unanswered by the receiver. The bot may still be answering: the
  // kill can land while the instance holding a chat's socket has heard a reply and not yet queued it.
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
  // Each chat's history read again through the instance left, as its page does once its instance is gone: a reply
  // the killed instance heard and never queued is told from there (docs/api.md#webhooks, what Genesys tells).
  const answers: string[] = [];
  for (const c of chats) answers.push(...(await answersIn(b, c)));
  // Each chat ended by its customer, through the instance left.
  for (const c of chats) await end(b, c);
  receiver.answer(204);

  const chatIds = new Set<string>();
  const messagesOf = (type: string) =>
    new Set(
      receiver
        .accepted()
        .filter((d) => d.body.type === type)
        .map((d) => (d.body.data.message as { id: string }).id),
    );
  const ended = () =>
    new Set(
      receiver
        .accepted()
        .filter((d) => d.body.type === 'chat.ended' && !earlier.has(d.body.chat.id))
        .map((d) => d.body.chat.id),
    );
  const expected = () => {
    const accepted = receiver.accepted();
    const started = accepted.filter((d) => d.body.type === 'chat.started').map((d) => d.body.chat.id);
    const sent = messagesOf('message.sent');
    const received = messagesOf('message.received');
    started.filter((id) => !earlier.has(id)).forEach((id) => chatIds.add(id));
    // What is still missing, named, for the failure message.
    const missing = {
      chats: chats.length - chatIds.size,
      sent: chats.flatMap((c) => c.sent).filter((id) => !sent.has(id)),
      answers: answers.filter((id) => !received.has(id)),
      ends: chats.length - ended().size,
    };
    if (missing.chats + missing.sent.length + missing.answers.length + missing.ends > 0)
      throw new Error(`not yet arrived: ${JSON.stringify(missing)}`);
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
  // Of these chats: every answer of the bot and every end arrived, each under one webhook-id, nothing beyond them.
  const ours = receiver.accepted().filter((d) => chatIds.has(d.body.chat.id));
  const idsFor = (type: string) => new Set(ours.filter((d) => d.body.type === type).map((d) => d.id));
  expect(idsFor('message.received').size).toBe(answers.length);
  expect([...messagesOf('message.received')].filter((id) => answers.includes(id)).sort()).toEqual([...answers].sort());
  expect(idsFor('chat.ended').size).toBe(chats.length);
  expect([...ended()].sort()).toEqual([...chatIds].sort());
}, 120_000);
