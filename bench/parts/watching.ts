import { createECDH, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import webpush from 'web-push';
import { authHeaders, createSessions } from '../lib/bff';
import { keepAliveAgent, requestJson } from '../lib/http';
import { pool } from '../lib/load';
import {
  freePort,
  serviceEnv,
  startServiceProcess,
  startSim,
  type ServiceProcess,
  type SimProcess,
} from '../lib/procs';
import { kb, type Ctx, type PartOutput } from '../lib/report';

/**
 * Part 10: what watching chats nobody looks at (Web Push) costs one instance. Two runs, each a service process of
 * its own against the simulator:
 *
 * - socket mode: SOCKET_CHATS chats subscribe (and are left alone), under NOTIFY_SOCKETS_MAX. The live sockets their
 *   creation opened idle out first (GUEST_SOCKET_IDLE_SECONDS=3); then the service's RSS, heap used (each after a
 *   full collection, through the inspector) and the simulator's open sockets are read before the chats subscribe
 *   and once every chat is watched: the differences per chat (the subscription's records included: the bench's
 *   store is the service's memory, not Redis).
 * - history mode: NOTIFY_SOCKETS_MAX=0, so HISTORY_CHATS chats are watched by history reads, with the pace of the
 *   defaults (15 s after a reply, backing off to 300 s) run 15 times faster (1 s, backing off to 20 s). Once every
 *   chat has backed off to its longest wait, the simulator's history requests are counted over MEASURE_MS: reads
 *   per chat per hour at the accelerated pace, and divided by 15 for the defaults (the wait between two reads is 15
 *   times longer). Memory and sockets per chat as in the socket run. No reply comes (the agent is off): this is a
 *   quiet chat's steady cost; a chat whose replies keep coming is read every NOTIFY_POLL_SECONDS instead.
 *
 * Without any page open a subscription counts as looked at for its first minute, so each run waits about a minute
 * before the watches start.
 */
const SOCKET_CHATS = 500;
const HISTORY_CHATS = 300;
const SPEEDUP = 15;
const MEASURE_MS = 120_000;
/**
 * After the last watch starts, until every chat reads at its longest wait: 1 + 2 + 4 + 8 + 16 s of back-off, and
 * at this pace the session's own budget (5 reads a minute for a watch) holds back the sixth read of the first
 * minute, which comes at 60 s; the 20 s ceiling follows at about 100 s.
 */
const SETTLE_MS = 120_000;

interface Sample {
  rssBytes: number;
  heapUsedBytes: number;
  simOpenSockets: number;
}

export async function watchingPart(ctx: Ctx): Promise<PartOutput> {
  const vapid = webpush.generateVAPIDKeys();
  const base = {
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:bench@example.com',
    NOTIFY_AFTER_SECONDS: '1',
    GUEST_SOCKET_IDLE_SECONDS: '3',
  };
  const socket = await run(ctx, 'socket', SOCKET_CHATS, { ...base, NOTIFY_SOCKETS_MAX: String(SOCKET_CHATS) });
  const history = await run(ctx, 'history', HISTORY_CHATS, {
    ...base,
    NOTIFY_SOCKETS_MAX: '0',
    NOTIFY_POLL_SECONDS: String(15 / SPEEDUP),
    NOTIFY_POLL_MAX_SECONDS: String(300 / SPEEDUP),
    // Not the ceiling under test here (300 chats every 20 s are 15 a second): a chat's own pace is.
    NOTIFY_HISTORY_READS_PER_SECOND: '20',
  });
  const perHourAccelerated = (history.reads / HISTORY_CHATS) * (3_600_000 / MEASURE_MS);
  const perHourDefaults = perHourAccelerated / SPEEDUP;
  const part = '10 watching';
  const per = (m: Awaited<ReturnType<typeof run>>, chats: number) => ({
    rss: (m.after.rssBytes - m.before.rssBytes) / chats,
    heap: (m.after.heapUsedBytes - m.before.heapUsedBytes) / chats,
    sockets: (m.after.simOpenSockets - m.before.simOpenSockets) / chats,
  });
  const s = per(socket, SOCKET_CHATS);
  const h = per(history, HISTORY_CHATS);
  ctx.log(
    `watching: socket mode ${kb(s.rss)} RSS, ${kb(s.heap)} heap, ${s.sockets.toFixed(2)} sockets per chat; ` +
      `history mode ${kb(h.rss)} RSS, ${kb(h.heap)} heap, ${h.sockets.toFixed(2)} sockets per chat, ` +
      `${perHourDefaults.toFixed(1)} reads per chat per hour at the defaults`,
  );
  return {
    name: 'watching',
    rows: [
      {
        part,
        metric: `socket mode, ${SOCKET_CHATS} chats: RSS / heap used / sockets per watched chat`,
        value: `${kb(s.rss)} / ${kb(s.heap)} / ${s.sockets.toFixed(2)}`,
        target: '1 socket per chat',
        met: Math.abs(s.sockets - 1) < 0.02,
      },
      {
        part,
        metric: `history mode, ${HISTORY_CHATS} chats: RSS / heap used / sockets per watched chat`,
        value: `${kb(h.rss)} / ${kb(h.heap)} / ${h.sockets.toFixed(2)}`,
        target: 'no socket kept',
        met: h.sockets < 0.02,
      },
      {
        part,
        metric:
          `history mode, a quiet chat: reads per chat per hour (measured at ${SPEEDUP}x the default pace ` +
          `over ${MEASURE_MS / 1000} s, divided by ${SPEEDUP})`,
        value: `${perHourDefaults.toFixed(1)} (${perHourAccelerated.toFixed(0)} at ${SPEEDUP}x)`,
        target: '<= 12 (one per NOTIFY_POLL_MAX_SECONDS, 300 s)',
        met: perHourDefaults <= 12 * 1.001,
      },
    ],
    data: {
      socketChats: SOCKET_CHATS,
      historyChats: HISTORY_CHATS,
      speedup: SPEEDUP,
      measureMs: MEASURE_MS,
      socket,
      history,
      perChat: { socket: s, history: h },
      historyReadsPerChatPerHour: { accelerated: perHourAccelerated, defaults: perHourDefaults },
    },
  };
}

/** One service process: `chats` chats subscribed and left, measured before and once all are watched. */
async function run(ctx: Ctx, mode: 'socket' | 'history', chats: number, env: Record<string, string>) {
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const metricsPort = await freePort();
  const service = await startServiceProcess({
    env: serviceEnv(sim, port, { ...env, METRICS_PORT: String(metricsPort) }),
    port,
    logFile: join(ctx.logDir, `watching-${mode}-service.log`),
    // The inspector collects garbage before each memory sample and reads the heap used.
    inspect: true,
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  try {
    const agent = keepAliveAgent(32);
    const tokens = await createSessions(service.url, chats, 32, agent);
    // The chats' live sockets idle out; then the baseline, before any chat subscribes.
    await until(async () => (await sim.stats()).openConnections === 0, 30_000, 'the live sockets to idle out');
    const before = await sample(service, sim);
    await pool(tokens, 32, async (token, i) => {
      const res = await requestJson(`${service.url}/notifications/push`, {
        method: 'PUT',
        headers: authHeaders(token),
        body: { endpoint: `https://push.example.com/bench/${i}`, keys: browserKeys() },
        agent,
        timeoutMs: 30_000,
      });
      if (res.status !== 204) throw new Error(`PUT /notifications/push answered ${res.status}: ${res.text}`);
    });
    agent.destroy();
    await until(async () => (await watched(metricsUrl, mode)) === chats, 120_000, `${chats} chats watched (${mode})`);
    let reads = NaN;
    if (mode === 'history') {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const start = (await sim.stats()).historyRequests;
      await new Promise((r) => setTimeout(r, MEASURE_MS));
      reads = (await sim.stats()).historyRequests - start;
    } else {
      // The sockets opened: let the watches' catch-up reads settle.
      await until(async () => (await sim.stats()).openConnections >= chats, 30_000, 'every watch socket open');
      await new Promise((r) => setTimeout(r, 5000));
    }
    const after = await sample(service, sim);
    return { chats, before, after, reads, outcomes: await readOutcomes(metricsUrl) };
  } finally {
    await service.stop();
    await sim.stop();
  }
}

async function sample(service: ServiceProcess, sim: SimProcess): Promise<Sample> {
  const heaps: number[] = [];
  const rss: number[] = [];
  // The median of five reads a second apart, each right after a full collection.
  for (let i = 0; i < 5; i++) {
    await service.profiler!.call('HeapProfiler.collectGarbage');
    heaps.push((await service.profiler!.call<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize);
    rss.push(service.rssBytes());
    await new Promise((r) => setTimeout(r, 1000));
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return { rssBytes: median(rss), heapUsedBytes: median(heaps), simOpenSockets: (await sim.stats()).openConnections };
}

async function scrape(url: string): Promise<string> {
  const res = await requestJson(url, { timeoutMs: 10_000 });
  return res.text;
}

/** The sum of a metric's samples whose labels include `labels` (`name{...} value` lines). */
function metric(text: string, name: string, labels: string[] = []): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!labels.every((l) => line.includes(l))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function watched(metricsUrl: string, mode: string): Promise<number> {
  return metric(await scrape(metricsUrl), 'genesys_bff_notify_watched_chats', [`mode="${mode}"`]);
}

async function readOutcomes(metricsUrl: string): Promise<Record<string, number>> {
  const text = await scrape(metricsUrl);
  const out: Record<string, number> = {};
  for (const outcome of ['replies', 'nothing_new', 'rate_limited', 'refused', 'ended', 'failed'])
    out[outcome] = metric(text, 'genesys_bff_notify_history_reads_total', [`outcome="${outcome}"`]);
  return out;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A browser's subscription keys: an uncompressed P-256 point and a 16-byte secret, base64url. */
function browserKeys(): { p256dh: string; auth: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}
