import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { authHeaders, createSessions, kept, keepNewestToken } from '../lib/bff';
import { RawGuest } from '../lib/guestWs';
import { FastHttpPool } from '../lib/fastHttp';
import { keepAliveAgent } from '../lib/http';
import { closedLoop, openLoop, pool, SessionPicker, summarize, type LoadResult } from '../lib/load';
import {
  BARE_EXPRESS_MAIN,
  contentionMeter,
  cpuMeter,
  freePort,
  serviceEnv,
  startServiceProcess,
  startSim,
} from '../lib/procs';
import { ms, perSec, type Ctx, type PartOutput } from '../lib/report';

/**
 * Part 1: POST /messages through the service vs the same onMessage on a raw
 * WebSocket to the simulator (the floor).
 *
 * The service keeps its own limit of 5 messages per second per session, so
 * the load is spread round-robin over many sessions and no session is used
 * more often than every 250 ms (4/s). The floor's sessions have the
 * simulator's per-session limit lifted, so only CPU limits the floor.
 * The scripted agent is off: only the echo comes back, on both paths.
 * Saturation is measured for each path in turn; the fixed-rate latency in
 * alternating rounds (service, floor, service, ...), each path's figure the
 * median of its rounds, so that noise from a shared host lands on both.
 */
export const MESSAGES = {
  /** Enough that the 250 ms spacing allows 4,000 messages a second, twice the service's saturation here. */
  sessions: 1000,
  spacingMs: 250,
  concurrency: 64,
  warmupMs: 2000,
  saturationMs: 6000,
  rate: 500,
  /** The fixed-rate phase: service and floor alternate, so a noisy minute on a shared host hits both. */
  fixedRounds: 3,
  fixedRoundMs: 2500,
  fixedRewarmMs: 1000,
  /** Express alone (bench/bareExpressProcess.ts): warm-up and saturation. */
  bareWarmupMs: 1000,
  bareSaturationMs: 4000,
};

const TEXT = 'Hello, I would like to know where my order is.';

export async function messagesPart(ctx: Ctx): Promise<PartOutput> {
  const p = MESSAGES;
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const service = await startServiceProcess({
    env: serviceEnv(sim, port),
    port,
    logFile: join(ctx.logDir, 'messages-service.log'),
    inspect: ctx.profileDir !== undefined,
  });
  let through: { saturation: LoadResult; rssBytes: number; cpuUsPerMessage: Record<string, number> };
  let floor: { saturation: LoadResult; cpuUsPerMessage: Record<string, number> };
  const perMessage = (cpuMs: Record<string, number>, n: number) =>
    Object.fromEntries(Object.entries(cpuMs).map(([k, v]) => [k, Math.round((v * 1000) / n)]));
  const guests: RawGuest[] = [];
  let serviceClient: FastHttpPool | undefined;
  const fixedRounds: {
    service: LoadResult;
    floor: LoadResult;
    contention: { stolenMsPerS: number; runQueueWaitMsPerS: number };
  }[] = [];
  try {
    ctx.log(`messages: creating ${p.sessions} sessions through the service`);
    const setupAgent = keepAliveAgent(32);
    const t0 = performance.now();
    const tokens = await createSessions(service.url, p.sessions, 32, setupAgent);
    const createMs = performance.now() - t0;
    setupAgent.destroy();

    const client = (serviceClient = new FastHttpPool(service.url, p.concurrency));
    const picker = new SessionPicker(kept(tokens), p.spacingMs);
    const body = JSON.stringify({ text: TEXT });
    const op = async () => {
      const session = await picker.next();
      const res = await client.request('POST', '/messages', authHeaders(session.token), body);
      if (res.status !== 201) return `http ${res.status}`;
      keepNewestToken(session, res.body);
      return 'ok';
    };
    ctx.log('messages: service warm-up and saturation');
    await closedLoop({ concurrency: p.concurrency, durationMs: p.warmupMs, op });
    await service.profiler?.start();
    const cpu = cpuMeter({ service: service.pid, simulator: sim.pid });
    const saturation = await closedLoop({ concurrency: p.concurrency, durationMs: p.saturationMs, op });
    const cpuUsPerMessage = perMessage(cpu(), saturation.ok);
    if (ctx.profileDir) await service.profiler?.stop(join(ctx.profileDir, 'messages-saturation.cpuprofile'));
    through = { saturation, rssBytes: service.rssBytes(), cpuUsPerMessage };
    ctx.log(`messages: CPU per message ${JSON.stringify(cpuUsPerMessage)} us`);
    ctx.log(
      `messages: service ${perSec(saturation.throughput)} at saturation (sessions created in ${Math.round(createMs)} ms)`,
    );

    ctx.log(`messages: floor, ${p.sessions} raw Guest API sockets`);
    await sim.admin('POST', '/options', { messagesPerSecond: 100 });
    for (let i = 0; i < p.sessions; i++)
      guests.push(new RawGuest(sim.urls.webMessagingUrl, sim.deploymentId, 'http://localhost:3000'));
    await pool(guests, 64, async (g) => {
      await g.connect();
      await g.configure();
    });
    let cursor = 0;
    const rawOp = () => guests[cursor++ % guests.length]!.send(TEXT);
    await openLoop({ rate: p.rate, durationMs: p.warmupMs, op: rawOp });

    // Before the floor's saturation: its 150,000-odd messages would sit in the simulator's history
    // and slow its garbage collector for both paths.
    for (let round = 1; round <= p.fixedRounds; round++) {
      // Idle through the floor's turn, the service's heap shrinks (V8's memory reducer); a steadily
      // loaded service never sees that, so each turn starts with an unmeasured stretch at the rate.
      await openLoop({ rate: p.rate, durationMs: p.fixedRewarmMs, op });
      const contention = contentionMeter(service.pid);
      const throughService = await openLoop({ rate: p.rate, durationMs: p.fixedRoundMs, op });
      const during = contention();
      const direct = await openLoop({ rate: p.rate, durationMs: p.fixedRoundMs, op: rawOp });
      fixedRounds.push({ service: throughService, floor: direct, contention: during });
      ctx.log(
        `messages: at ${p.rate}/s, round ${round}: service p50 ${ms(throughService.latency.p50)} p99 ${ms(throughService.latency.p99)}; floor p50 ${ms(direct.latency.p50)} p99 ${ms(direct.latency.p99)}; ` +
          `during the service's turn, host steal ${during.stolenMsPerS.toFixed(0)} ms/s, service waiting for a CPU ${during.runQueueWaitMsPerS.toFixed(1)} ms/s`,
      );
    }

    await closedLoop({ concurrency: p.concurrency, durationMs: p.warmupMs, op: rawOp });
    const floorCpu = cpuMeter({ simulator: sim.pid });
    const floorSaturation = await closedLoop({ concurrency: p.concurrency, durationMs: p.saturationMs, op: rawOp });
    floor = { saturation: floorSaturation, cpuUsPerMessage: perMessage(floorCpu(), floorSaturation.ok) };
    ctx.log(`messages: floor ${perSec(floorSaturation.throughput)} at saturation`);
  } finally {
    serviceClient?.close();
    for (const g of guests) g.close();
    await service.stop();
    await sim.stop();
  }

  // Express alone, same client and request: the framework's own share of a message.
  let bare: { saturation: LoadResult; cpuUsPerRequest: number };
  const barePort = await freePort();
  const bareExpress = await startServiceProcess({
    env: { PORT: String(barePort) },
    port: barePort,
    entry: BARE_EXPRESS_MAIN,
    logFile: join(ctx.logDir, 'bare-express.log'),
  });
  try {
    ctx.log('messages: Express alone (JSON body in, JSON answer out, nothing else)');
    const client = new FastHttpPool(bareExpress.url, p.concurrency);
    const body = JSON.stringify({ text: TEXT });
    const headers = authHeaders('not-checked');
    const op = async () => ((await client.request('POST', '/messages', headers, body)).status === 201 ? 'ok' : 'bad');
    await closedLoop({ concurrency: p.concurrency, durationMs: p.bareWarmupMs, op });
    const cpu = cpuMeter({ express: bareExpress.pid });
    const saturation = await closedLoop({ concurrency: p.concurrency, durationMs: p.bareSaturationMs, op });
    bare = { saturation, cpuUsPerRequest: perMessage(cpu(), saturation.ok).express! };
    client.close();
    ctx.log(
      `messages: Express alone ${perSec(saturation.throughput)} at saturation, ${bare.cpuUsPerRequest} us CPU per request`,
    );
  } finally {
    await bareExpress.stop();
  }

  // Each path's figure is the median of its rounds: one noisy round moves neither.
  const median = (values: number[]) => summarize(values).p50;
  const fixed = {
    service: {
      p50: median(fixedRounds.map((r) => r.service.latency.p50)),
      p99: median(fixedRounds.map((r) => r.service.latency.p99)),
    },
    floor: {
      p50: median(fixedRounds.map((r) => r.floor.latency.p50)),
      p99: median(fixedRounds.map((r) => r.floor.latency.p99)),
    },
  };
  const addedP50 = fixed.service.p50 - fixed.floor.p50;
  const addedP99 = fixed.service.p99 - fixed.floor.p99;
  const ratio = through.saturation.throughput / floor.saturation.throughput;
  const sessionCap = (p.sessions * 1000) / p.spacingMs;
  // An estimate, on the generous side: at half the floor's rate the machine has cores / rate of
  // CPU per message in all; the client (its HTTP cost through the service) and the simulator (at its
  // floor cost, the least it ever took) use their share, and what is left is all one service
  // process may spend, but never more than one core / rate (one JavaScript thread).
  const cores = availableParallelism();
  const halfFloor = 0.5 * floor.saturation.throughput;
  const budgetUs = Math.min(
    1e6 / halfFloor,
    (cores * 1e6) / halfFloor - through.cpuUsPerMessage.client! - floor.cpuUsPerMessage.simulator!,
  );
  const errors = Object.assign({}, through.saturation.errors, ...fixedRounds.map((r) => r.service.errors));
  const part = '1 POST /messages';
  return {
    name: 'messages',
    rows: [
      { part, metric: 'service throughput at saturation', value: perSec(through.saturation.throughput) },
      { part, metric: 'floor throughput at saturation', value: perSec(floor.saturation.throughput) },
      { part, metric: 'service / floor throughput', value: ratio.toFixed(2), target: '>= 0.50', met: ratio >= 0.5 },
      {
        part,
        metric: 'CPU per message at saturation',
        value: `service ${through.cpuUsPerMessage.service} us, sim ${through.cpuUsPerMessage.simulator} us, client ${through.cpuUsPerMessage.client} us (floor: sim ${floor.cpuUsPerMessage.simulator} us, client ${floor.cpuUsPerMessage.client} us)`,
      },
      {
        part,
        metric: 'service CPU a message may cost for 0.50 (estimate)',
        value: `${Math.round(budgetUs)} us (${cores} cores / half the floor's rate, less client ${through.cpuUsPerMessage.client} us and simulator ${floor.cpuUsPerMessage.simulator} us; at most 1 core / that rate)`,
      },
      {
        part,
        metric: 'Express alone, same client',
        value: `${perSec(bare.saturation.throughput)}, ${bare.cpuUsPerRequest} us CPU per request`,
      },
      {
        part,
        metric: `service p50 / p99 at ${p.rate}/s (median of ${p.fixedRounds})`,
        value: `${ms(fixed.service.p50)} / ${ms(fixed.service.p99)}`,
      },
      {
        part,
        metric: `floor p50 / p99 at ${p.rate}/s (median of ${p.fixedRounds})`,
        value: `${ms(fixed.floor.p50)} / ${ms(fixed.floor.p99)}`,
      },
      {
        part,
        metric: `during the service's rounds: host steal, service waiting for a CPU`,
        value: fixedRounds
          .map((r) => `${r.contention.stolenMsPerS.toFixed(0)} / ${r.contention.runQueueWaitMsPerS.toFixed(1)} ms/s`)
          .join('; '),
      },
      { part, metric: 'added at p50', value: ms(addedP50), target: '<= 1 ms', met: addedP50 <= 1 },
      { part, metric: 'added at p99', value: ms(addedP99), target: '<= 5 ms', met: addedP99 <= 5 },
      {
        part,
        metric: 'errors (service)',
        value: Object.keys(errors).length === 0 ? 'none' : JSON.stringify(errors),
        target: 'none',
        met: Object.keys(errors).length === 0,
      },
    ],
    data: {
      settings: { ...p, sessionCapPerSecond: sessionCap },
      service: through,
      floor,
      fixedRate: { ...fixed, rounds: fixedRounds },
      expressAlone: bare,
      serviceBudgetUsForHalfTheFloor: budgetUs,
      addedMs: { p50: addedP50, p99: addedP99 },
      throughputRatio: ratio,
      sessionCapReached: through.saturation.throughput > 0.9 * sessionCap,
    },
  };
}
