import { join } from 'node:path';
import { authHeaders, createSessions, guestTokensOf } from '../lib/bff';
import { RawGuest } from '../lib/guestWs';
import { FastHttpPool } from '../lib/fastHttp';
import { keepAliveAgent } from '../lib/http';
import { closedLoop, openLoop, pool, type LoadResult, type Op } from '../lib/load';
import { freePort, PAGE_ORIGIN, serviceEnv, startServiceProcess, startSim } from '../lib/procs';
import { ms, perSec, type Ctx, type PartOutput } from '../lib/report';

/**
 * Part 2: GET /messages through the service vs the history call straight to
 * the simulator with the guest JWT (getJwt on a raw socket, then
 * GET /api/v2/webmessaging/messages with `bearer <jwt>`).
 *
 * Every conversation holds the same 10 messages; both paths read page 1
 * with pageSize 25. The service allows 10 history reads a minute per
 * session, so each session gets a fixed budget: 1 warm-up read (which also
 * fetches and caches the JWT), then at most 5 at saturation and 3 at the
 * fixed rate; a phase stops early when the budget is spent.
 */
export const HISTORY = {
  sessions: 1000,
  floorSessions: 200,
  seeded: 10,
  pageSize: 25,
  concurrency: 64,
  saturationMs: 5000,
  saturationReadsPerSession: 5,
  rate: 500,
  fixedMs: 4000,
  fixedReadsPerSession: 3,
};

/** Hands out each session at most `perSession` times, round-robin. */
function budget(tokens: string[], perSession: number): () => string | undefined {
  let i = 0;
  const total = tokens.length * perSession;
  return () => (i < total ? tokens[i++ % tokens.length] : undefined);
}

export async function historyPart(ctx: Ctx): Promise<PartOutput> {
  const p = HISTORY;
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const service = await startServiceProcess({
    env: serviceEnv(sim, port),
    port,
    logFile: join(ctx.logDir, 'history-service.log'),
    inspect: ctx.profileDir !== undefined,
  });
  const path = `/messages?page=1&pageSize=${p.pageSize}`;
  let through: { saturation: LoadResult; fixed: LoadResult };
  let floor: { saturation: LoadResult; fixed: LoadResult };
  try {
    ctx.log(`history: ${p.sessions} sessions through the service, ${p.seeded} messages each`);
    const tokens = await createSessions(service.url, p.sessions, 32, keepAliveAgent(32));
    await sim.admin('POST', '/seed', { tokens: await guestTokensOf(tokens), count: p.seeded });
    const client = new FastHttpPool(service.url, p.concurrency);
    const read = (token: string) =>
      client.request('GET', path, authHeaders(token)).then((res) => {
        if (res.status !== 200) return `http ${res.status}`;
        return (JSON.parse(res.body) as { messages: unknown[] }).messages.length === p.seeded ? 'ok' : 'wrong count';
      });
    // Warm-up: one read per session (fetches and caches each session's JWT).
    await pool(tokens, p.concurrency, read);
    const opFor =
      (next: () => string | undefined): Op =>
      () => {
        const token = next();
        return token === undefined ? Promise.resolve('budget spent') : read(token);
      };
    await service.profiler?.start();
    const saturation = await closedLoop({
      concurrency: p.concurrency,
      durationMs: p.saturationMs,
      op: opFor(budget(tokens, p.saturationReadsPerSession)),
      maxOps: p.sessions * p.saturationReadsPerSession,
    });
    if (ctx.profileDir) await service.profiler?.stop(join(ctx.profileDir, 'history-saturation.cpuprofile'));
    const fixed = await openLoop({
      rate: p.rate,
      durationMs: p.fixedMs,
      op: opFor(budget(tokens, p.fixedReadsPerSession)),
    });
    through = { saturation, fixed };
    client.close();
    ctx.log(
      `history: service ${perSec(saturation.throughput)} at saturation, p50 ${ms(fixed.latency.p50)} p99 ${ms(fixed.latency.p99)} at ${p.rate}/s`,
    );
  } finally {
    await service.stop();
  }

  const guests: RawGuest[] = [];
  try {
    for (let i = 0; i < p.floorSessions; i++)
      guests.push(new RawGuest(sim.urls.webMessagingUrl, sim.deploymentId, PAGE_ORIGIN));
    const jwts = await pool(guests, 32, async (g) => {
      await g.connect();
      await g.configure();
      return g.getJwt();
    });
    await sim.admin('POST', '/seed', { tokens: guests.map((g) => g.token), count: p.seeded });
    const client = new FastHttpPool(sim.urls.apiUrl, p.concurrency);
    let cursor = 0;
    const op: Op = async () => {
      const jwt = jwts[cursor++ % jwts.length]!;
      const res = await client.request('GET', `/api/v2/webmessaging/messages?pageNumber=1&pageSize=${p.pageSize}`, {
        Authorization: `bearer ${jwt}`,
        Origin: PAGE_ORIGIN,
      });
      if (res.status !== 200) return `http ${res.status}`;
      return (JSON.parse(res.body) as { entities: unknown[] }).entities.length === p.seeded ? 'ok' : 'wrong count';
    };
    await closedLoop({ concurrency: p.concurrency, durationMs: 1000, op });
    const saturation = await closedLoop({ concurrency: p.concurrency, durationMs: p.saturationMs, op });
    const fixed = await openLoop({ rate: p.rate, durationMs: p.fixedMs, op });
    floor = { saturation, fixed };
    client.close();
    ctx.log(
      `history: floor ${perSec(saturation.throughput)} at saturation, p50 ${ms(fixed.latency.p50)} p99 ${ms(fixed.latency.p99)} at ${p.rate}/s`,
    );
  } finally {
    for (const g of guests) g.close();
    await sim.stop();
  }

  const addedP50 = through.fixed.latency.p50 - floor.fixed.latency.p50;
  const addedP99 = through.fixed.latency.p99 - floor.fixed.latency.p99;
  const ratio = through.saturation.throughput / floor.saturation.throughput;
  const errors = { ...through.saturation.errors, ...through.fixed.errors };
  delete errors['budget spent'];
  const part = '2 GET /messages';
  return {
    name: 'history',
    rows: [
      { part, metric: 'service throughput at saturation', value: perSec(through.saturation.throughput) },
      { part, metric: 'floor throughput at saturation', value: perSec(floor.saturation.throughput) },
      { part, metric: 'service / floor throughput', value: ratio.toFixed(2) },
      {
        part,
        metric: `service p50 / p99 at ${p.rate}/s`,
        value: `${ms(through.fixed.latency.p50)} / ${ms(through.fixed.latency.p99)}`,
      },
      {
        part,
        metric: `floor p50 / p99 at ${p.rate}/s`,
        value: `${ms(floor.fixed.latency.p50)} / ${ms(floor.fixed.latency.p99)}`,
      },
      { part, metric: 'added at p50 / p99', value: `${ms(addedP50)} / ${ms(addedP99)}` },
      {
        part,
        metric: 'errors (service)',
        value: Object.keys(errors).length === 0 ? 'none' : JSON.stringify(errors),
        target: 'none',
        met: Object.keys(errors).length === 0,
      },
    ],
    data: { settings: p, service: through, floor, addedMs: { p50: addedP50, p99: addedP99 }, throughputRatio: ratio },
  };
}
