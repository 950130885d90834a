import { join } from 'node:path';
import { authHeaders, createSessions, kept, keepNewestToken } from '../lib/bff';
import { FastHttpPool } from '../lib/fastHttp';
import { RawGuest } from '../lib/guestWs';
import { keepAliveAgent } from '../lib/http';
import { closedLoop, openLoop, pool, SessionPicker, summarize, type LoadResult, type Op } from '../lib/load';
import {
  BUILD_DIR,
  cpuMeter,
  freePort,
  PAGE_ORIGIN,
  serviceEnv,
  startOtlpSink,
  startServiceProcess,
  startSim,
  type ServiceProcess,
  type SimProcess,
  type StandIn,
} from '../lib/procs';
import { ms, perSec, type Ctx, type PartOutput, type Row } from '../lib/report';

/**
 * Part 7: the service against the bare relay, the real floor of any backend
 * for frontend. Four contenders do the same work per message:
 *
 * - raw socket: the Guest API straight from the load generator (no hop);
 * - bare relay: its own process, plain `node:http` plus `ws`
 *   (bench/relayProcess.ts): parse the body, `onMessage` on the session's
 *   socket, answer with the echo; history relayed with the guest JWT;
 * - bare Express relay: the same relay as Express 5 routes;
 * - the service, as `npm start` runs it.
 *
 * At 40, 160 and 500 messages a second (the rates chats really run, not
 * saturation), in alternating rounds (each contender in turn, every round),
 * each figure the median of its rounds, so a noisy moment on a shared host
 * lands on all of them. CPU per message of each contender's own process, the
 * simulator and the load generator, over all the rounds at each rate.
 * GET /healthz of the service against the bare relay's (a bare `node:http`
 * server in another process) at 40/s.
 */
export const RELAY = {
  sessions: 1000,
  rates: [40, 160, 500],
  roundMs: { 40: 2000, 160: 1000, 500: 1000 } as Record<number, number>,
  rounds: 3,
  warmupMs: 1000,
  /** No session is used more often than this (the service paces each session's sends, GENESYS_MESSAGES_PER_SECOND). */
  spacingMs: 250,
  /** History reads per session after its warm-up read (the service allows 10 a minute). */
  readsPerSession: 8,
  concurrency: 64,
  /** Throughput at saturation: a closed loop of `concurrency` senders, alternating rounds of the bare Express relay and the service. */
  saturation: { concurrency: 64, warmupMs: 1000, durationMs: 3000, rounds: 2 },
  healthzRate: 40,
  healthzMs: 1500,
};

const TEXT = 'Hello, I would like to know where my order is.';
export const RELAY_MAIN = join(BUILD_DIR, 'bench', 'relayProcess.js');
type Name = 'raw socket' | 'bare relay' | 'bare Express relay' | 'service' | 'service, traced';
/** The service runs as shipped (metrics served on METRICS_PORT); "service, traced" also exports every span (OTLP, a stand-in collector). */
const NAMES: Name[] = ['raw socket', 'bare relay', 'bare Express relay', 'service', 'service, traced'];
/** With the stand-in inside the load generator: what the targets are judged on, in both modes. */
const IN_PROCESS_NAMES: Name[] = ['raw socket', 'bare relay', 'bare Express relay', 'service'];

interface Contender {
  name: Name;
  post: Op;
  get: Op;
  /** The process that does the relaying (none for the raw socket). */
  pid?: number;
}

async function relayProcess(ctx: Ctx, sim: SimProcess, kind: 'http' | 'express'): Promise<ServiceProcess> {
  const port = await freePort();
  return startServiceProcess({
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      RELAY: kind,
      SIM_WS_URL: sim.urls.webMessagingUrl,
      SIM_API_URL: sim.urls.apiUrl,
      DEPLOYMENT_ID: sim.deploymentId,
    },
    port,
    entry: RELAY_MAIN,
    logFile: join(ctx.logDir, `relay-${kind}.log`),
  });
}

/** POST and GET /messages through an HTTP contender (the service or a relay), each session paced and history reads budgeted. */
async function httpContender(name: Name, proc: ServiceProcess, clients: FastHttpPool[]): Promise<Contender> {
  const tokens = await createSessions(proc.url, RELAY.sessions, 32, keepAliveAgent(32));
  const client = new FastHttpPool(proc.url, RELAY.concurrency);
  clients.push(client);
  const picker = new SessionPicker(kept(tokens), RELAY.spacingMs);
  const body = JSON.stringify({ text: TEXT });
  // One read per session first (it fetches the guest JWT), then a budget within the service's 10 a minute.
  await pool(tokens, 32, (t) => client.request('GET', '/messages?page=1&pageSize=25', authHeaders(t)));
  let reads = 0;
  const budget = tokens.length * RELAY.readsPerSession;
  return {
    name,
    pid: proc.pid,
    post: async () => {
      const session = await picker.next();
      const res = await client.request('POST', '/messages', authHeaders(session.token), body);
      if (res.status !== 201) return `http ${res.status}`;
      keepNewestToken(session, res.body);
      return 'ok';
    },
    get: async () => {
      if (reads >= budget) return 'read budget spent';
      const res = await client.request(
        'GET',
        '/messages?page=1&pageSize=25',
        authHeaders(tokens[reads++ % tokens.length]!),
      );
      return res.status === 200 ? 'ok' : `http ${res.status}`;
    },
  };
}

async function rawContender(sim: SimProcess, guests: RawGuest[], clients: FastHttpPool[]): Promise<Contender> {
  for (let i = 0; i < RELAY.sessions; i++)
    guests.push(new RawGuest(sim.urls.webMessagingUrl, sim.deploymentId, PAGE_ORIGIN));
  const jwts = await pool(guests, 64, async (g) => {
    await g.connect();
    await g.configure();
    return g.getJwt();
  });
  const api = new FastHttpPool(sim.urls.apiUrl, RELAY.concurrency);
  clients.push(api);
  let cursor = 0;
  let read = 0;
  return {
    name: 'raw socket',
    post: () => guests[cursor++ % guests.length]!.send(TEXT),
    get: async () => {
      const res = await api.request('GET', '/api/v2/webmessaging/messages?pageNumber=1&pageSize=25', {
        Authorization: `bearer ${jwts[read++ % jwts.length]}`,
      });
      return res.status === 200 ? 'ok' : `http ${res.status}`;
    },
  };
}

interface Measured {
  p50: number;
  p99: number;
  rounds: { p50: number; p99: number; errors: Record<string, number> }[];
  cpuUsPerMessage?: Record<string, number>;
}

/** Alternating rounds at one rate: every contender once per round; figures are medians of rounds. */
async function atRate(
  contenders: Contender[],
  op: 'post' | 'get',
  rate: number,
  sim: SimProcess,
  ctx: Ctx,
): Promise<Partial<Record<Name, Measured>>> {
  const roundMs = RELAY.roundMs[rate]!;
  const rounds: Record<string, LoadResult[]> = {};
  const cpu: Record<string, Record<string, number>> = {};
  // With the stand-in in this process, its CPU is the load generator's: counted once, as `client`.
  const simPid: Record<string, number> = sim.standIn === 'process' ? { simulator: sim.pid } : {};
  for (let round = 0; round < RELAY.rounds; round++) {
    for (const c of contenders) {
      // A short unmeasured stretch at the rate first: each contender meets the load warm.
      await openLoop({ rate, durationMs: 250, op: c[op] });
      const meter = cpuMeter({ ...(c.pid ? { relay: c.pid } : {}), ...simPid });
      const result = await openLoop({ rate, durationMs: roundMs, op: c[op] });
      const used = meter();
      (rounds[c.name] ??= []).push(result);
      const sum = (cpu[c.name] ??= { messages: 0 });
      sum.messages! += result.ok;
      for (const [k, v] of Object.entries(used)) sum[k] = (sum[k] ?? 0) + v;
    }
  }
  const median = (v: number[]) => summarize(v).p50;
  const out: Partial<Record<Name, Measured>> = {};
  for (const c of contenders) {
    const rs = rounds[c.name]!;
    const { messages, ...usedMs } = cpu[c.name]!;
    out[c.name] = {
      p50: median(rs.map((r) => r.latency.p50)),
      p99: median(rs.map((r) => r.latency.p99)),
      rounds: rs.map((r) => ({ p50: r.latency.p50, p99: r.latency.p99, errors: r.errors })),
      cpuUsPerMessage: Object.fromEntries(
        Object.entries(usedMs).map(([k, v]) => [k, Math.round((v * 1000) / messages!)]),
      ),
    };
  }
  ctx.log(
    `relay (${sim.standIn} stand-in): ${op.toUpperCase()} /messages at ${rate}/s: ${contenders.map((c) => `${c.name} ${ms(out[c.name]!.p50)}/${ms(out[c.name]!.p99)}`).join('; ')}`,
  );
  return out;
}

interface Saturation {
  /** Messages a second, each contender's rounds. */
  rounds: Partial<Record<Name, number[]>>;
  /** The median of its rounds. */
  throughput: Partial<Record<Name, number>>;
  errors: Partial<Record<Name, Record<string, number>>>;
  cpuUsPerMessage: Partial<Record<Name, Record<string, number>>>;
}

/** POST /messages as fast as each contender answers: a closed loop, alternating rounds. */
async function atSaturation(contenders: Contender[], sim: SimProcess, ctx: Ctx): Promise<Saturation> {
  const { concurrency, warmupMs, durationMs, rounds } = RELAY.saturation;
  const out: Saturation = { rounds: {}, throughput: {}, errors: {}, cpuUsPerMessage: {} };
  const simPid: Record<string, number> = sim.standIn === 'process' ? { simulator: sim.pid } : {};
  const cpu: Partial<Record<Name, Record<string, number>>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      await closedLoop({ concurrency, durationMs: warmupMs, op: c.post });
      const meter = cpuMeter({ ...(c.pid ? { relay: c.pid } : {}), ...simPid });
      const result = await closedLoop({ concurrency, durationMs, op: c.post });
      const used = meter();
      (out.rounds[c.name] ??= []).push(Math.round(result.throughput));
      const errors = (out.errors[c.name] ??= {});
      for (const [k, v] of Object.entries(result.errors)) errors[k] = (errors[k] ?? 0) + v;
      const sum = (cpu[c.name] ??= { messages: 0 });
      sum.messages! += result.ok;
      for (const [k, v] of Object.entries(used)) sum[k] = (sum[k] ?? 0) + v;
    }
  }
  for (const c of contenders) {
    out.throughput[c.name] = summarize(out.rounds[c.name]!).p50;
    const { messages, ...usedMs } = cpu[c.name]!;
    out.cpuUsPerMessage[c.name] = Object.fromEntries(
      Object.entries(usedMs).map(([k, v]) => [k, Math.round((v * 1000) / messages!)]),
    );
  }
  ctx.log(
    `relay (${sim.standIn} stand-in): POST /messages at saturation: ${contenders.map((c) => `${c.name} ${perSec(out.throughput[c.name]!)} (${out.rounds[c.name]!.join(', ')})`).join('; ')}`,
  );
  return out;
}

interface StandInResults {
  standIn: StandIn;
  contenders: Name[];
  post: Record<number, Partial<Record<Name, Measured>>>;
  get?: Record<number, Partial<Record<Name, Measured>>>;
  saturation: Saturation;
  healthz?: { service: number; bare: number };
  tracing?: { requests: number; bytes: number };
}

/**
 * One pass of the part with the Genesys stand-in in its own process or in
 * this one. The separate process is the whole part; the in-process pass
 * repeats what the targets are judged on (POST at the three rates, and
 * saturation) with the four contenders.
 */
async function withStandIn(ctx: Ctx, standIn: StandIn): Promise<StandInResults> {
  const sim = await startSim({ agent: { enabled: false } }, [], standIn);
  await sim.admin('POST', '/options', { messagesPerSecond: 100 });
  const full = standIn === 'process';
  const procs: ServiceProcess[] = [];
  const guests: RawGuest[] = [];
  const clients: FastHttpPool[] = [];
  const sink = full ? await startOtlpSink() : undefined;
  try {
    const service = await serviceProcess(ctx, sim, `relay-service-${standIn}`);
    procs.push(service);
    const traced = sink
      ? await serviceProcess(ctx, sim, 'relay-service-traced', { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url })
      : undefined;
    if (traced) procs.push(traced);
    const bare = await relayProcess(ctx, sim, 'http');
    procs.push(bare);
    const bareExpress = await relayProcess(ctx, sim, 'express');
    procs.push(bareExpress);
    const names = full ? NAMES : IN_PROCESS_NAMES;
    ctx.log(`relay (${standIn} stand-in): ${RELAY.sessions} sessions on each of ${names.join(', ')}`);
    const contenders = [
      await rawContender(sim, guests, clients),
      await httpContender('bare relay', bare, clients),
      await httpContender('bare Express relay', bareExpress, clients),
      await httpContender('service', service, clients),
      ...(traced ? [await httpContender('service, traced', traced, clients)] : []),
    ];
    for (const c of contenders) await closedLoop({ concurrency: 8, durationMs: RELAY.warmupMs, op: c.post });
    const results: StandInResults = {
      standIn,
      contenders: names,
      post: {},
      saturation: undefined as unknown as Saturation,
    };
    for (const rate of RELAY.rates) results.post[rate] = await atRate(contenders, 'post', rate, sim, ctx);
    results.saturation = await atSaturation(
      contenders.filter((c) => c.name === 'bare Express relay' || c.name === 'service'),
      sim,
      ctx,
    );
    if (full) {
      results.get = {};
      const readers = contenders.filter((c) => c.name !== 'service, traced');
      for (const rate of RELAY.rates) results.get[rate] = await atRate(readers, 'get', rate, sim, ctx);
      results.healthz = await healthzRounds(service, bare, clients);
      ctx.log(
        `relay: GET /healthz p50 service ${ms(results.healthz.service, 3)}, bare node:http ${ms(results.healthz.bare, 3)}`,
      );
    }
    if (sink) results.tracing = sink.received();
    return results;
  } finally {
    for (const c of clients) c.close();
    for (const g of guests) g.close();
    for (const p of procs) await p.stop();
    await sim.stop();
    await sink?.close();
  }
}

/** The service as shipped: its metrics served (METRICS_PORT, on in the container and deployment files). */
async function serviceProcess(
  ctx: Ctx,
  sim: SimProcess,
  log: string,
  extra: Record<string, string> = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const env = serviceEnv(sim, port, { METRICS_PORT: '0', ...extra });
  return startServiceProcess({
    env,
    port,
    logFile: join(ctx.logDir, `${log}.log`),
    inspect: ctx.profileDir !== undefined,
  });
}

export async function relayPart(ctx: Ctx): Promise<PartOutput> {
  const separate = await withStandIn(ctx, 'process');
  const inProcess = await withStandIn(ctx, 'in-process');
  return {
    name: 'relay',
    rows: [...rows(separate), ...rows(inProcess)],
    data: { settings: RELAY, separate, inProcess },
  };
}

async function healthzRounds(
  service: ServiceProcess,
  bare: ServiceProcess,
  clients: FastHttpPool[],
): Promise<{ service: number; bare: number }> {
  const paths = { service: new FastHttpPool(service.url, 4), bare: new FastHttpPool(bare.url, 4) };
  clients.push(paths.service, paths.bare);
  const p50s: Record<'service' | 'bare', number[]> = { service: [], bare: [] };
  for (let round = 0; round < RELAY.rounds; round++) {
    for (const key of ['service', 'bare'] as const) {
      const op = async () => ((await paths[key].request('GET', '/healthz', {})).status === 200 ? 'ok' : 'bad');
      p50s[key].push((await openLoop({ rate: RELAY.healthzRate, durationMs: RELAY.healthzMs, op })).latency.p50);
    }
  }
  return { service: summarize(p50s.service).p50, bare: summarize(p50s.bare).p50 };
}

function rows(r: StandInResults): Row[] {
  const part = `7 bare relay (${r.standIn === 'process' ? 'stand-in in its own process' : 'stand-in in the load generator'})`;
  const out: Row[] = [];
  const names = r.contenders;
  const ops: ['post' | 'get', Record<number, Partial<Record<Name, Measured>>>][] = [['post', r.post]];
  if (r.get) ops.push(['get', r.get]);
  for (const [op, byRate] of ops) {
    const label = `${op.toUpperCase()} /messages`;
    const shown = names.filter((n) => byRate[RELAY.rates[0]!]![n]);
    for (const rate of RELAY.rates) {
      const m = byRate[rate]!;
      out.push({
        part,
        metric: `${label} at ${rate}/s, p50 / p99: ${shown.join(', ')}`,
        value: shown.map((n) => `${ms(m[n]!.p50)} / ${ms(m[n]!.p99)}`).join('; '),
      });
      const addedP50 = m.service!.p50 - m['bare relay']!.p50;
      const addedP99 = m.service!.p99 - m['bare relay']!.p99;
      out.push({
        part,
        metric: `${label} at ${rate}/s: the service adds over the bare relay (p50 / p99)`,
        value: `${ms(addedP50)} / ${ms(addedP99)}`,
        ...(op === 'post' ? { target: 'p50 <= 0.5 ms', met: addedP50 <= 0.5 } : {}),
      });
      if (m['service, traced']) {
        out.push({
          part,
          metric: `${label} at ${rate}/s: tracing on adds over the service (p50 / p99)`,
          value: `${ms(m['service, traced'].p50 - m.service!.p50)} / ${ms(m['service, traced'].p99 - m.service!.p99)}`,
        });
      }
    }
    for (const rate of RELAY.rates) {
      const m = byRate[rate]!;
      const own = (n: Name) => m[n]!.cpuUsPerMessage?.relay ?? 0;
      const ratio = own('service') / own('bare Express relay');
      out.push({
        part,
        metric: `${label} CPU per message at ${rate}/s, own process (stand-in; client): ${shown.join(', ')}`,
        value: `${shown.map((n) => `${n === 'raw socket' ? '-' : own(n)} (${m[n]!.cpuUsPerMessage?.simulator ?? 'in client'}; ${m[n]!.cpuUsPerMessage?.client})`).join(', ')} us; service / bare Express relay ${ratio.toFixed(2)}`,
        ...(op === 'post' ? { target: 'service <= 1.2x bare Express relay', met: ratio <= 1.2 } : {}),
      });
    }
  }
  const sat = r.saturation;
  const ratio = sat.throughput.service! / sat.throughput['bare Express relay']!;
  out.push({
    part,
    metric: 'POST /messages at saturation: service / bare Express relay (rounds; CPU per message of each own process)',
    value: `${perSec(sat.throughput.service!)} / ${perSec(sat.throughput['bare Express relay']!)} = ${ratio.toFixed(2)} (${sat.rounds.service!.join(', ')} / ${sat.rounds['bare Express relay']!.join(', ')}; ${sat.cpuUsPerMessage.service?.relay} / ${sat.cpuUsPerMessage['bare Express relay']?.relay} us)`,
    target: '>= 0.8',
    met: ratio >= 0.8,
  });
  if (r.healthz) {
    out.push({
      part,
      metric: 'GET /healthz p50: service / bare node:http (another process)',
      value: `${ms(r.healthz.service, 3)} / ${ms(r.healthz.bare, 3)}`,
      target: 'within 0.1 ms',
      met: r.healthz.service - r.healthz.bare <= 0.1,
    });
  }
  if (r.tracing)
    out.push({
      part,
      metric: 'spans exported by "service, traced" (OTLP requests, bytes)',
      value: `${r.tracing.requests}, ${r.tracing.bytes}`,
    });
  return out;
}
