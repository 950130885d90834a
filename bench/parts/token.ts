import { join } from 'node:path';
import { refreshMarginMs } from '../../src/genesys/platform/tokenCache';
import { keepAliveAgent, requestJson } from '../lib/http';
import { openLoop, summarize } from '../lib/load';
import {
  freePort,
  SERVICE_WITH_BENCH_ROUTES,
  serviceEnv,
  startServiceProcess,
  startSim,
  type ServiceProcess,
  type SimProcess,
} from '../lib/procs';
import { ms, type Ctx, type PartOutput } from '../lib/report';

/**
 * Part 3: the OAuth client-credentials token.
 *
 * The service runs from bench/serviceProcess.ts: src/main.ts's service plus
 * GET /__bench/token, which awaits the service's own TokenCache.getToken()
 * and reports how long it waited (no public route needs the token on demand).
 *
 * a) Cold start: the simulator holds its first token answer for 300 ms; 500
 *    requests arrive together as soon as the service listens. Count of token
 *    requests at the simulator: exactly 1.
 * b) A 3 s token lifetime under 10 s of load (200 requests/s): count of token
 *    requests, each refresh one request (the cache replaces a token
 *    `refreshMarginMs(lifetime)` before expiry: 1.5 s for a 3 s token, so a
 *    new token every 1.5 s), and the largest latency a refresh added.
 */
const COLD_CONCURRENCY = 500;
const LIFETIME_S = 3;
const LOAD_MS = 10_000;
const LOAD_RATE = 200;

async function listening(url: string): Promise<void> {
  for (;;) {
    try {
      await requestJson(`${url}/healthz`, { fresh: true, timeoutMs: 500 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

export async function tokenPart(ctx: Ctx): Promise<PartOutput> {
  const part = '3 OAuth token';
  // (a) cold start
  let sim: SimProcess = await startSim({ agent: { enabled: false } });
  let service: ServiceProcess | undefined;
  let cold: { requests: number; ok: number; statuses: Record<string, number>; maxWaitMs: number; wallMs: number };
  try {
    await sim.admin('POST', '/faults/delayRest', { target: 'token', ms: 300, times: 1 });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // Start the service without waiting for readiness: the burst must meet a cold cache.
    const starting = startServiceProcess({
      env: serviceEnv(sim, port, { DEPLOYMENT_CACHE_TTL_SECONDS: '300' }),
      port,
      entry: SERVICE_WITH_BENCH_ROUTES,
      logFile: join(ctx.logDir, 'token-cold-service.log'),
    });
    await listening(url);
    const agent = keepAliveAgent(COLD_CONCURRENCY);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: COLD_CONCURRENCY }, () =>
        requestJson(`${url}/__bench/token`, { agent, timeoutMs: 15_000 }).then(
          (r) => ({
            status: String(r.status),
            waitedMs: r.status === 200 ? (r.json as { waitedUs: number }).waitedUs / 1000 : NaN,
          }),
          () => ({ status: 'error', waitedMs: NaN }),
        ),
      ),
    );
    const wallMs = performance.now() - t0;
    service = await starting;
    agent.destroy();
    const statuses: Record<string, number> = {};
    for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const stats = await sim.stats();
    cold = {
      requests: stats.tokenRequests,
      ok: statuses['200'] ?? 0,
      statuses,
      maxWaitMs: Math.max(...results.map((r) => r.waitedMs).filter(Number.isFinite)),
      wallMs,
    };
    ctx.log(
      `token: cold start, ${COLD_CONCURRENCY} concurrent -> ${cold.requests} token request(s), ${cold.ok} answered 200`,
    );
  } finally {
    await service?.stop();
    await sim.stop();
  }

  // (b) 3 s lifetime under load
  sim = await startSim({ agent: { enabled: false }, tokenExpiresIn: LIFETIME_S });
  service = undefined;
  let refresh: Record<string, unknown>;
  let tokenRequestsInWindow: number;
  let expectedRequests: number;
  let duplicates: number;
  let addedAtRefreshMs: number;
  let maxWaitMs: number;
  try {
    const port = await freePort();
    service = await startServiceProcess({
      env: serviceEnv(sim, port, { DEPLOYMENT_CACHE_TTL_SECONDS: '1' }),
      port,
      entry: SERVICE_WITH_BENCH_ROUTES,
      logFile: join(ctx.logDir, 'token-refresh-service.log'),
    });
    const agent = keepAliveAgent(64);
    const samples: { at: number; latencyMs: number; waitedMs: number }[] = [];
    const before = await sim.stats();
    const windowStart = Date.now();
    const load = await openLoop({
      rate: LOAD_RATE,
      durationMs: LOAD_MS,
      op: async () => {
        const t = performance.now();
        const res = await requestJson(`${service!.url}/__bench/token`, { agent, timeoutMs: 10_000 });
        if (res.status !== 200) return `http ${res.status}`;
        samples.push({
          at: Date.now(),
          latencyMs: performance.now() - t,
          waitedMs: (res.json as { waitedUs: number }).waitedUs / 1000,
        });
        return 'ok';
      },
    });
    const windowEnd = Date.now();
    agent.destroy();
    const after = await sim.stats();
    const times = after.tokenRequestTimes.filter((t) => t >= windowStart && t <= windowEnd);
    tokenRequestsInWindow = after.tokenRequests - before.tokenRequests;
    const lifetimeMs = LIFETIME_S * 1000;
    const intervalMs = lifetimeMs - refreshMarginMs(lifetimeMs);
    expectedRequests = Number(((windowEnd - windowStart) / intervalMs).toFixed(1));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Two requests for one refresh would sit much closer together than the refresh interval.
    duplicates = gaps.filter((g) => g < intervalMs / 2).length;
    const all = summarize(samples.map((s) => s.latencyMs));
    // A sample is "at a refresh" when it was answered from 20 ms before to 100 ms after a token request reached the simulator.
    const atRefresh = (s: { at: number }) => times.some((t) => s.at >= t - 20 && s.at <= t + 100);
    const near = summarize(samples.filter(atRefresh).map((s) => s.latencyMs));
    const away = summarize(samples.filter((s) => !atRefresh(s)).map((s) => s.latencyMs));
    // What a refresh adds: the worst latency around refreshes beyond the worst elsewhere (GC pauses and
    // scheduling make up "elsewhere"); getToken's own wait tells whether any caller waited for a token.
    addedAtRefreshMs = Math.max(0, near.max - away.max);
    maxWaitMs = Math.max(...samples.map((s) => s.waitedMs));
    const maxWaitNearMs = Math.max(0, ...samples.filter(atRefresh).map((s) => s.waitedMs));
    refresh = {
      lifetimeSeconds: LIFETIME_S,
      refreshIntervalMs: intervalMs,
      tokenRequestTimes: times.map((t) => t - windowStart),
      gapsMs: gaps,
      load: { rate: LOAD_RATE, durationMs: LOAD_MS, ok: load.ok, errors: load.errors, latency: load.latency },
      latencyAll: all,
      latencyNearRefresh: near,
      latencyAwayFromRefresh: away,
      maxGetTokenWaitMs: maxWaitMs,
      maxGetTokenWaitNearRefreshMs: maxWaitNearMs,
    };
    ctx.log(
      `token: ${tokenRequestsInWindow} token requests in ${LOAD_MS / 1000} s at a ${LIFETIME_S} s lifetime (a refresh every ${intervalMs} ms: ${expectedRequests} expected); max wait in getToken ${ms(maxWaitMs, 3)}`,
    );
  } finally {
    await service?.stop();
    await sim.stop();
  }

  return {
    name: 'token',
    rows: [
      {
        part,
        metric: `cold start, ${COLD_CONCURRENCY} concurrent: token requests`,
        value: String(cold.requests),
        target: '1',
        met: cold.requests === 1 && cold.ok === COLD_CONCURRENCY,
      },
      {
        part,
        metric: `${LIFETIME_S} s lifetime, ${LOAD_MS / 1000} s load: token requests`,
        value: `${tokenRequestsInWindow} (a refresh every ${(refresh.refreshIntervalMs as number) / 1000} s: ${expectedRequests} expected; duplicates ${duplicates})`,
        target: 'one per token',
        met: duplicates === 0 && Math.abs(tokenRequestsInWindow - expectedRequests) < 1,
      },
      {
        part,
        metric: 'largest latency added at a refresh',
        value: `${ms(addedAtRefreshMs)} (worst near a refresh ${ms((refresh.latencyNearRefresh as { max: number }).max)}, elsewhere ${ms((refresh.latencyAwayFromRefresh as { max: number }).max)}; longest wait inside getToken ${ms(maxWaitMs, 3)})`,
      },
    ],
    data: { cold, refresh, tokenRequestsInWindow, expectedRequests, duplicates, addedAtRefreshMs },
  };
}
