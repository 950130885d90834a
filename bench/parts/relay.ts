import { join } from 'node:path';
import { authHeaders, createSessions } from '../lib/bff';
import { FastHttpPool } from '../lib/fastHttp';
import { RawGuest } from '../lib/guestWs';
import { keepAliveAgent } from '../lib/http';
import { closedLoop, openLoop, pool, SessionPicker, summarize, type LoadResult, type Op } from '../lib/load';
import { BUILD_DIR, cpuMeter, freePort, PAGE_ORIGIN, serviceEnv, startServiceProcess, startSim, type ServiceProcess, type SimProcess } from '../lib/procs';
import { ms, type Ctx, type PartOutput, type Row } from '../lib/report';

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
  sessions: 600,
  rates: [40, 160, 500],
  roundMs: { 40: 2000, 160: 1000, 500: 1000 } as Record<number, number>,
  rounds: 3,
  warmupMs: 1000,
  /** No session is used more often than this (the service's 5 messages a second). */
  spacingMs: 250,
  /** History reads per session after its warm-up read (the service allows 10 a minute). */
  readsPerSession: 8,
  concurrency: 64,
  healthzRate: 40,
  healthzMs: 1500,
};

const TEXT = 'Hello, I would like to know where my order is.';
export const RELAY_MAIN = join(BUILD_DIR, 'bench', 'relayProcess.js');
type Name = 'raw socket' | 'bare relay' | 'bare Express relay' | 'service';
const NAMES: Name[] = ['raw socket', 'bare relay', 'bare Express relay', 'service'];

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
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), RELAY: kind, SIM_WS_URL: sim.urls.webMessagingUrl, SIM_API_URL: sim.urls.apiUrl, DEPLOYMENT_ID: sim.deploymentId },
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
  const picker = new SessionPicker(tokens, RELAY.spacingMs);
  const body = JSON.stringify({ text: TEXT });
  // One read per session first (it fetches the guest JWT), then a budget within the service's 10 a minute.
  await pool(tokens, 32, (t) => client.request('GET', '/messages?page=1&pageSize=25', authHeaders(t)));
  let reads = 0;
  const budget = tokens.length * RELAY.readsPerSession;
  return {
    name,
    pid: proc.pid,
    post: async () => {
      const res = await client.request('POST', '/messages', authHeaders(await picker.next()), body);
      return res.status === 201 ? 'ok' : `http ${res.status}`;
    },
    get: async () => {
      if (reads >= budget) return 'read budget spent';
      const res = await client.request('GET', '/messages?page=1&pageSize=25', authHeaders(tokens[reads++ % tokens.length]!));
      return res.status === 200 ? 'ok' : `http ${res.status}`;
    },
  };
}

async function rawContender(sim: SimProcess, guests: RawGuest[], clients: FastHttpPool[]): Promise<Contender> {
  for (let i = 0; i < RELAY.sessions; i++) guests.push(new RawGuest(sim.urls.webMessagingUrl, sim.deploymentId, PAGE_ORIGIN));
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
      const res = await api.request('GET', '/api/v2/webmessaging/messages?pageNumber=1&pageSize=25', { Authorization: `bearer ${jwts[read++ % jwts.length]}` });
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
async function atRate(contenders: Contender[], op: 'post' | 'get', rate: number, sim: SimProcess, ctx: Ctx): Promise<Record<Name, Measured>> {
  const roundMs = RELAY.roundMs[rate]!;
  const rounds: Record<string, LoadResult[]> = {};
  const cpu: Record<string, Record<string, number>> = {};
  for (let round = 0; round < RELAY.rounds; round++) {
    for (const c of contenders) {
      // A short unmeasured stretch at the rate first: each contender meets the load warm.
      await openLoop({ rate, durationMs: 250, op: c[op] });
      const meter = cpuMeter({ ...(c.pid ? { relay: c.pid } : {}), simulator: sim.pid });
      const result = await openLoop({ rate, durationMs: roundMs, op: c[op] });
      const used = meter();
      (rounds[c.name] ??= []).push(result);
      const sum = (cpu[c.name] ??= { messages: 0 });
      sum.messages! += result.ok;
      for (const [k, v] of Object.entries(used)) sum[k] = (sum[k] ?? 0) + v;
    }
  }
  const median = (v: number[]) => summarize(v).p50;
  const out = {} as Record<Name, Measured>;
  for (const c of contenders) {
    const rs = rounds[c.name]!;
    const { messages, ...usedMs } = cpu[c.name]!;
    out[c.name] = {
      p50: median(rs.map((r) => r.latency.p50)),
      p99: median(rs.map((r) => r.latency.p99)),
      rounds: rs.map((r) => ({ p50: r.latency.p50, p99: r.latency.p99, errors: r.errors })),
      cpuUsPerMessage: Object.fromEntries(Object.entries(usedMs).map(([k, v]) => [k, Math.round((v * 1000) / messages!)])),
    };
  }
  ctx.log(`relay: ${op.toUpperCase()} /messages at ${rate}/s: ${NAMES.map((n) => `${n} ${ms(out[n].p50)}/${ms(out[n].p99)}`).join('; ')}`);
  return out;
}

export async function relayPart(ctx: Ctx): Promise<PartOutput> {
  const sim = await startSim({ agent: { enabled: false } });
  await sim.admin('POST', '/options', { messagesPerSecond: 100 });
  const port = await freePort();
  const procs: ServiceProcess[] = [];
  const guests: RawGuest[] = [];
  const clients: FastHttpPool[] = [];
  const results: Record<string, Record<number, Record<Name, Measured>>> = { post: {}, get: {} };
  let healthz: { service: number; bare: number };
  try {
    const service = await startServiceProcess({ env: serviceEnv(sim, port), port, logFile: join(ctx.logDir, 'relay-service.log'), inspect: ctx.profileDir !== undefined });
    procs.push(service);
    const bare = await relayProcess(ctx, sim, 'http');
    procs.push(bare);
    const bareExpress = await relayProcess(ctx, sim, 'express');
    procs.push(bareExpress);
    ctx.log(`relay: ${RELAY.sessions} sessions on each of the four contenders`);
    const contenders = [
      await rawContender(sim, guests, clients),
      await httpContender('bare relay', bare, clients),
      await httpContender('bare Express relay', bareExpress, clients),
      await httpContender('service', service, clients),
    ];
    for (const c of contenders) await closedLoop({ concurrency: 8, durationMs: RELAY.warmupMs, op: c.post });
    for (const rate of RELAY.rates) results.post![rate] = await atRate(contenders, 'post', rate, sim, ctx);
    for (const rate of RELAY.rates) results.get![rate] = await atRate(contenders, 'get', rate, sim, ctx);
    healthz = await healthzRounds(service, bare, clients);
    ctx.log(`relay: GET /healthz p50 service ${ms(healthz.service, 3)}, bare node:http ${ms(healthz.bare, 3)}`);
  } finally {
    for (const c of clients) c.close();
    for (const g of guests) g.close();
    for (const p of procs) await p.stop();
    await sim.stop();
  }
  return { name: 'relay', rows: rows(results, healthz), data: { settings: RELAY, results, healthz } };
}

async function healthzRounds(service: ServiceProcess, bare: ServiceProcess, clients: FastHttpPool[]): Promise<{ service: number; bare: number }> {
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

function rows(results: Record<string, Record<number, Record<Name, Measured>>>, healthz: { service: number; bare: number }): Row[] {
  const part = '7 bare relay';
  const out: Row[] = [];
  for (const op of ['post', 'get'] as const) {
    const label = `${op.toUpperCase()} /messages`;
    for (const rate of RELAY.rates) {
      const r = results[op]![rate]!;
      out.push({ part, metric: `${label} at ${rate}/s, p50 / p99: ${NAMES.join(', ')}`, value: NAMES.map((n) => `${ms(r[n].p50)} / ${ms(r[n].p99)}`).join('; ') });
      const addedP50 = r.service.p50 - r['bare relay'].p50;
      const addedP99 = r.service.p99 - r['bare relay'].p99;
      const targeted = op === 'post';
      out.push({
        part,
        metric: `${label} at ${rate}/s: the service adds over the bare relay (p50 / p99)`,
        value: `${ms(addedP50)} / ${ms(addedP99)}`,
        ...(targeted ? { target: '<= 0.5 / 2 ms', met: addedP50 <= 0.5 && addedP99 <= 2 } : {}),
      });
    }
    for (const rate of RELAY.rates) {
      const cpu = results[op]![rate]!;
      const own = (n: Name) => cpu[n].cpuUsPerMessage?.relay ?? 0;
      const ratio = own('service') / own('bare Express relay');
      out.push({
        part,
        metric: `${label} CPU per message at ${rate}/s, own process (simulator; client): ${NAMES.join(', ')}`,
        value: `${NAMES.map((n) => `${n === 'raw socket' ? '-' : own(n)} (${cpu[n].cpuUsPerMessage?.simulator}; ${cpu[n].cpuUsPerMessage?.client})`).join(', ')} us; service / bare Express relay ${ratio.toFixed(2)}`,
        ...(op === 'post' ? { target: 'service <= 2x bare Express relay', met: ratio <= 2 } : {}),
      });
    }
  }
  out.push({
    part,
    metric: 'GET /healthz p50: service / bare node:http (another process)',
    value: `${ms(healthz.service, 3)} / ${ms(healthz.bare, 3)}`,
    target: 'within 0.2 ms',
    met: healthz.service - healthz.bare <= 0.2,
  });
  return out;
}
