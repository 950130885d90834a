import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { authHeaders, createSessions, guestTokensOf } from '../lib/bff';
import { keepAliveAgent } from '../lib/http';
import { pool, summarize } from '../lib/load';
import { freePort, serviceEnv, startServiceProcess, startSim } from '../lib/procs';
import { mb, ms, type Ctx, type PartOutput } from '../lib/report';
import { openSse, type StreamHandle } from '../lib/sseClient';

/**
 * Part 5: 10,000 live guest sessions on one instance, each with its own
 * upstream Guest API socket and an open SSE stream.
 *
 * 10,000 sessions (POST /guest-session), then one GET /messages/stream each,
 * all held open from this process. The simulator's agent then writes one
 * message into every conversation, paced at 1,000/s, stamped with
 * process.hrtime.bigint() as it goes onto the wire (CLOCK_MONOTONIC, the
 * same clock in every process on the machine); the delivery time is arrival
 * at the client minus that stamp. Two rounds. Resident memory of the
 * service is sampled throughout; the peak is reported.
 */
/** 10,000 live chats in at most 400 MB (decimal: 400,000,000 bytes), 40 KB (40,000 bytes) each, the service's own baseline included. */
export const STREAMS = { streams: 10_000, rounds: 2, rate: 1000, maxRssBytes: 400_000_000 };

/** Decimal units for the memory target (the rest of the bench prints MiB as MB). */
const mbDecimal = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB (decimal)`;
const kbDecimal = (bytes: number) => `${(bytes / 1e3).toFixed(1)} KB`;

/**
 * The service holds two descriptors per session (its upstream socket and the stream) plus a few
 * dozen of its own (about 40 measured), within the open-file limit it inherits: where that limit is lower (a
 * container's hard limit of 20,000 here, and no privilege to raise it), as many as fit.
 */
function sessionsThatFit(): { streams: number; fdLimit: number } {
  let fdLimit = Infinity;
  try {
    fdLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
  } catch {
    // not Linux: assume it fits
  }
  return { streams: Math.min(STREAMS.streams, Math.floor((fdLimit - 100) / 2)), fdLimit };
}

export async function streamsPart(ctx: Ctx): Promise<PartOutput> {
  const { streams: fitting, fdLimit } = sessionsThatFit();
  const p = { ...STREAMS, streams: fitting };
  if (fitting < STREAMS.streams)
    ctx.log(`streams: the open-file limit (${fdLimit}) fits ${fitting} sessions, not ${STREAMS.streams}`);
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const service = await startServiceProcess({
    env: serviceEnv(sim, port),
    port,
    logFile: join(ctx.logDir, 'streams-service.log'),
    inspect: ctx.profileDir !== undefined,
  });
  const rssIdle = service.rssBytes();
  let peakRss = rssIdle;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, service.rssBytes())), 100);
  const streams: StreamHandle[] = [];
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    ctx.log(`streams: creating ${p.streams} sessions`);
    const t0 = performance.now();
    const tokens = await createSessions(service.url, p.streams, 64, keepAliveAgent(64));
    const createMs = performance.now() - t0;
    const rssSessions = service.rssBytes();

    ctx.log(`streams: opening ${p.streams} streams (sessions took ${Math.round(createMs)} ms)`);
    const latencies: number[] = [];
    let ended = 0;
    let unparsed = 0;
    const onMessage = (data: string, arrived: bigint) => {
      const match = /"text":"bench:(\d+)"/.exec(data);
      if (!match) {
        unparsed++;
        return;
      }
      latencies.push(Number(arrived - BigInt(match[1]!)) / 1e6);
    };
    const t1 = performance.now();
    await pool(tokens, 200, async (token) => {
      const s = openSse(`${service.url}/messages/stream`, authHeaders(token), agent, onMessage, () => ended++);
      streams.push(s);
      await s.opened;
    });
    const openMs = performance.now() - t1;
    await new Promise((r) => setTimeout(r, 1000));
    const rssStreams = service.rssBytes();
    const upstreamSockets = (await sim.stats()).openConnections;
    ctx.log(
      `streams: ${streams.length} open in ${Math.round(openMs)} ms; service RSS ${mb(rssStreams)}; ${upstreamSockets} upstream Guest API sockets open`,
    );

    const guestTokens = await guestTokensOf(tokens);
    const rounds: { sent: number; received: number; ms: number }[] = [];
    await service.profiler?.start();
    for (let round = 0; round < p.rounds; round++) {
      const already = latencies.length;
      const said = await sim.admin<{ sent: number; failed: number; ms: number }>('POST', '/say', {
        tokens: guestTokens,
        ratePerSecond: p.rate,
      });
      const deadline = performance.now() + 5000;
      while (latencies.length - already < said.sent && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      rounds.push({ sent: said.sent, received: latencies.length - already, ms: said.ms });
    }
    if (ctx.profileDir) await service.profiler?.stop(join(ctx.profileDir, 'streams-delivery.cpuprofile'));
    const rssAfter = service.rssBytes();
    clearInterval(sampler);
    peakRss = Math.max(peakRss, rssAfter);
    const delivery = summarize(latencies);
    const sent = rounds.reduce((a, r) => a + r.sent, 0);
    ctx.log(
      `streams: delivered ${delivery.n}/${sent}, p50 ${ms(delivery.p50)} p99 ${ms(delivery.p99)}; peak RSS ${mb(peakRss)}`,
    );
    const part = '5 SSE streams';
    return {
      name: 'streams',
      rows: [
        {
          part,
          metric: `${p.streams} sessions${p.streams < STREAMS.streams ? ` (the open-file limit ${fdLimit} fits no more)` : ''}, each an upstream socket and a stream: service RSS (peak)`,
          value: `${mbDecimal(peakRss)} (${upstreamSockets} upstream sockets, ${streams.length} streams)`,
          target: `${STREAMS.streams.toLocaleString('en')} in <= ${mbDecimal(STREAMS.maxRssBytes)}`,
          met:
            peakRss <= STREAMS.maxRssBytes &&
            streams.length === p.streams &&
            upstreamSockets >= p.streams &&
            p.streams === STREAMS.streams,
        },
        {
          part,
          metric: `memory per live chat: peak RSS / chats (above the idle ${mbDecimal(rssIdle)}); ${STREAMS.streams.toLocaleString('en')} at that rate`,
          value: `${kbDecimal(peakRss / p.streams)} (${kbDecimal((peakRss - rssIdle) / p.streams)}); ${mbDecimal(rssIdle + ((peakRss - rssIdle) / p.streams) * STREAMS.streams)}`,
          target: `<= ${kbDecimal(STREAMS.maxRssBytes / STREAMS.streams)} each`,
          met: peakRss / p.streams <= STREAMS.maxRssBytes / STREAMS.streams,
        },
        {
          part,
          metric: 'agent reply -> client event, p50 / p99',
          value: `${ms(delivery.p50)} / ${ms(delivery.p99)} (${delivery.n}/${sent} delivered)`,
          target: 'p99 <= 50 ms',
          met: delivery.p99 <= 50 && delivery.n === sent,
        },
      ],
      data: {
        settings: { ...p, fdLimit },
        createSessionsMs: createMs,
        openStreamsMs: openMs,
        upstreamSockets,
        rssBytes: {
          idle: rssIdle,
          withSessions: rssSessions,
          withStreams: rssStreams,
          afterDelivery: rssAfter,
          peak: peakRss,
        },
        simRssBytes: (await sim.stats()).rssBytes,
        rounds,
        delivery,
        unparsed,
        streamsEndedEarly: ended,
      },
    };
  } finally {
    clearInterval(sampler);
    for (const s of streams) s.close();
    agent.destroy();
    await service.stop();
    await sim.stop();
  }
}
