import { startSimulator, type Simulator } from '../../simulator';
import { scrape } from '../support/metrics';
import { startRedis, type RedisServer } from '../support/redis';
import { openStream } from '../support/sse';
import { bearer, simProfile, startStack, type Stack } from '../support/stack';
import { sleep, waitFor } from '../support/wait';
import { startWebhookReceiver, WEBHOOK_SECRET, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * A reply no instance told (docs/api.md#webhooks, what Genesys tells): two instances in this process on one Redis
 * and one receiver. The page's stream is on the first, which hears the agent's first reply and tells it; the first
 * instance then goes away, and the agent answers again while no instance holds a socket of the chat, as when the
 * instance holding it dies before it queued what it heard (test/webhooks/outages.test.ts kills one for real). The
 * page's stream resumes on the second from its Last-Event-ID: the reply it reads from history is told once, and the
 * first reply, on the same page, is not told again (the outbox drops it by its webhook-id).
 *
 * @needs redis-server
 */

let sim: Simulator;
let redis: RedisServer;
let receiver: WebhookReceiver;
let first: Stack;
let second: Stack;

beforeAll(async () => {
  sim = await startSimulator({ profile: simProfile(), agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startRedis();
  receiver = await startWebhookReceiver();
  const env = {
    REDIS_URL: redis.url,
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET,
    WEBHOOK_RETRY_FIRST_MS: '40',
    METRICS_PORT: '0',
  };
  first = await startStack({ simulator: sim, env });
  second = await startStack({ simulator: sim, env });
}, 60_000);

afterAll(async () => {
  await first?.close();
  await second?.close();
  await receiver?.close();
  await redis?.stop();
  await sim?.stop();
});

/** How many events wait in the deployment's outbox (in Redis, whichever instance is asked). */
const depth = async (stack: Stack) =>
  (await scrape(stack.service.metricsUrl!)).value('genesys_bff_webhook_outbox_depth', { deployment: 'default' });

/** The page's stream opened again on the second instance, from the last event id it had. */
const resume = (token: string, lastEventId: string) =>
  openStream(`${second.service.url}/messages/stream`, { ...bearer(token), 'Last-Event-ID': lastEventId });

/** The message.received deliveries the receiver took for message `id`. */
const receivedFor = (id: string) =>
  receiver
    .accepted()
    .filter((d) => d.body.type === 'message.received' && (d.body.data.message as { id: string }).id === id);

test('a reply said while no instance held the chat is told once its page resumes on another; one told is not told twice', async () => {
  const { token, gt } = await first.newGuest();
  const page = await openStream(`${first.service.url}/messages/stream`, bearer(token));
  expect(page.status).toBe(200);
  sim.agent.say(gt, 'first reply');
  const heard = await page.next((e) => e.event === 'message' && JSON.parse(e.data).text === 'first reply');
  const firstId = (JSON.parse(heard.data) as { id: string }).id;
  // The instance holding the socket heard it and told it, and its delivery is done (out of the outbox).
  await waitFor(() => receivedFor(firstId).length === 1);
  await waitFor(async () => (await depth(first)) === 0);

  // That instance goes away: the page's stream ends, and no socket of the chat is left open at Genesys.
  page.close();
  await first.close();
  await waitFor(() => sim.stats.openConnectionsBySession(gt) === 0);
  sim.agent.say(gt, 'second reply');
  const missed = (sim.conversationMessages(gt) as Array<{ id: string; text?: string }>).find(
    (m) => m.text === 'second reply',
  )!.id;
  expect(receivedFor(missed)).toEqual([]);

  const metricsUrl = second.service.metricsUrl!;
  const duplicates = async () =>
    (await scrape(metricsUrl)).value('genesys_bff_webhook_events_total', {
      deployment: 'default',
      outcome: 'duplicate',
    });
  const duplicatesBefore = await duplicates();
  // The page comes back on the other instance, from the last event it had: the replay reads the newest page. A 503
  // (the chat's connection still being handed over) is retried after its Retry-After, as the browser client does.
  let resumed = await resume(token, heard.id!);
  for (let attempt = 1; resumed.status === 503 && attempt < 5; attempt++) {
    await sleep(Number(resumed.headers.get('retry-after') ?? 1) * 1000);
    resumed = await resume(token, heard.id!);
  }
  try {
    expect(resumed.status).toBe(200);
    const replayed = await resumed.next((e) => e.event === 'message' && JSON.parse(e.data).text === 'second reply');
    expect(JSON.parse(replayed.data).id).toBe(missed);
    await waitFor(() => receivedFor(missed).length === 1);
    // Told in the page's order (the first reply before the second), so with the second delivered and nothing left
    // in the outbox, a repeat of the first would have been queued by now.
    await waitFor(async () => (await depth(second)) === 0);
  } finally {
    resumed.close();
  }
  expect(receiver.unverified).toEqual([]);
  const [told] = receivedFor(missed);
  expect(told!.body.data.message).toMatchObject({ id: missed, text: 'second reply' });
  // When Genesys says it was said, not when it was found.
  expect(told!.body.timestamp).toBe((told!.body.data.message as { time: string }).time);
  const [earlier] = receivedFor(firstId);
  expect(told!.body.chat).toEqual({ id: earlier!.body.chat.id, sequence: expect.any(Number) });
  expect(told!.body.chat.sequence).toBeGreaterThan(earlier!.body.chat.sequence);
  // The first reply was found on the page too, and dropped as told: one delivery, under one webhook-id.
  expect(receivedFor(firstId)).toHaveLength(1);
  expect(await duplicates()).toBeGreaterThan(duplicatesBefore);
  expect(new Set(receiver.received.map((d) => d.id)).size).toBe(receiver.received.length);
}, 60_000);
