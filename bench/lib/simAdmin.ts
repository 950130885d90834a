import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';

/**
 * The Genesys simulator for the benchmark, recording off, plus a small admin
 * server on a side port: counters, options, faults, seeding and a paced
 * "agent says". It runs in its own process (bench/simProcess.ts, the default
 * stand-in) or inside the load generator's (`standIn: 'in-process'`,
 * bench/README.md#two-stand-ins); the benchmark reaches it through the admin
 * server either way.
 *
 * Admin endpoints (JSON in, JSON out):
 *   GET  /stats              counters, token-request times, open sockets, memory
 *   POST /options            sim.setOptions(patch)
 *   POST /faults/delayRest   {target, ms, times}
 *   POST /connections        {tokens} -> connections each session ever had
 *   POST /seed               {tokens, count} -> `count` agent messages into each conversation
 *   POST /say                {tokens, ratePerSecond} -> one stamped agent message per token,
 *                            paced; text is `bench:<process.hrtime.bigint() at send>`
 *   POST /receipt            {tokens, ratePerSecond} -> one stamped `Failed` receipt per token about the newest guest
 *                            message of its conversation, paced; its reason's message is `bench:<hrtime at send>`
 */

const hrNow = (): bigint => process.hrtime.bigint();

export interface SimWithAdmin {
  sim: Simulator;
  adminUrl: string;
  /** What the benchmark needs to know of it (printed as `READY {json}` by simProcess.ts). */
  info: {
    url: string;
    urls: Simulator['urls'];
    deploymentId: string;
    credentials: Simulator['credentials'];
    adminUrl: string;
  };
  stop(): Promise<void>;
}

export async function startSimWithAdmin(options: SimulatorOptions): Promise<SimWithAdmin> {
  const sim = await startSimulator({ ...options, port: 0, host: '127.0.0.1', record: false });

  // Record when each OAuth token request arrives (the counter is a plain field).
  const tokenTimes: number[] = [];
  const stats = sim.stats as unknown as Record<string, number>;
  let tokenRequests = stats.tokenRequests ?? 0;
  Object.defineProperty(stats, 'tokenRequests', {
    configurable: true,
    enumerable: true,
    get: () => tokenRequests,
    set: (value: number) => {
      if (value > tokenRequests) tokenTimes.push(Date.now());
      tokenRequests = value;
    },
  });

  const admin = createServer((req, res) => {
    handle(sim, tokenTimes, req, res).catch((error: unknown) => reply(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  const adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
  return {
    sim,
    adminUrl,
    info: { url: sim.url, urls: sim.urls, deploymentId: sim.deploymentId, credentials: sim.credentials, adminUrl },
    async stop() {
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
      await sim.stop();
    },
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(sim: Simulator, tokenTimes: number[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = req.url ?? '/';
  if (req.method === 'GET' && path === '/stats') {
    const s = sim.stats;
    const mem = process.memoryUsage();
    return reply(res, 200, {
      connectionsOpened: s.connectionsOpened,
      openConnections: s.openConnections(),
      tokenRequests: s.tokenRequests,
      tokenRequestTimes: tokenTimes,
      historyRequests: s.historyRequests,
      deploymentRequests: s.deploymentRequests,
      configRequests: s.configRequests,
      rssBytes: mem.rss,
    });
  }
  const body = await readJson(req);
  if (req.method === 'POST' && path === '/options') {
    sim.setOptions(body as SimulatorOptions);
    return reply(res, 200, { ok: true });
  }
  if (req.method === 'POST' && path === '/faults/delayRest') {
    sim.faults.delayRest(body.target as 'token', Number(body.ms), {
      times: body.times === undefined ? undefined : Number(body.times),
    });
    return reply(res, 200, { ok: true });
  }
  if (req.method === 'POST' && path === '/connections') {
    const tokens = body.tokens as string[];
    return reply(res, 200, { counts: tokens.map((t) => sim.stats.connectionsBySession(t)) });
  }
  if (req.method === 'POST' && path === '/seed') {
    const tokens = body.tokens as string[];
    const count = Number(body.count ?? 10);
    let failed = 0;
    for (const token of tokens) {
      for (let i = 0; i < count; i++) {
        try {
          sim.agent.say(token, `Seeded history message ${i + 1} of ${count}: how can we help you today?`);
        } catch {
          failed++;
        }
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return reply(res, 200, { seeded: tokens.length * count - failed, failed });
  }
  if (req.method === 'POST' && path === '/say') {
    const said = await paced(body, (token) => sim.agent.say(token, `bench:${hrNow()}`));
    return reply(res, 200, said);
  }
  if (req.method === 'POST' && path === '/receipt') {
    const said = await paced(body, (token) => {
      const messages = sim.conversationMessages(token) as { id?: string; direction?: string }[];
      const guest = messages.findLast((m) => m.direction === 'Inbound' && m.id !== undefined);
      if (!guest) throw new Error('no guest message to report on');
      sim.agent.receipt(token, guest.id!, 'Failed', [{ code: 'DataFiltered', message: `bench:${hrNow()}` }]);
    });
    return reply(res, 200, said);
  }
  reply(res, 404, { error: `no admin route ${req.method} ${path}` });
}

/**
 * `send` once per token of `body.tokens`, paced at `body.ratePerSecond`: at each tick what is due is sent, so a burst
 * never measures queueing instead of delivery.
 */
async function paced(
  body: Record<string, unknown>,
  send: (token: string) => void,
): Promise<{ sent: number; failed: number; ms: number }> {
  const tokens = body.tokens as string[];
  const rate = Number(body.ratePerSecond ?? 1000);
  const started = performance.now();
  let sent = 0;
  let failed = 0;
  while (sent + failed < tokens.length) {
    const due = Math.min(tokens.length, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent + failed < due) {
      try {
        send(tokens[sent + failed]!);
        sent++;
      } catch {
        failed++;
      }
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }
  return { sent, failed, ms: performance.now() - started };
}
