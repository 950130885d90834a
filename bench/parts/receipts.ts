import http from 'node:http';
import { join } from 'node:path';
import { authHeaders, createSessions, guestTokensOf } from '../lib/bff';
import { keepAliveAgent, requestJson } from '../lib/http';
import { pool, summarize } from '../lib/load';
import { freePort, serviceEnv, startServiceProcess, startSim } from '../lib/procs';
import { ms, type Ctx, type PartOutput } from '../lib/report';
import { openSse, type StreamHandle } from '../lib/sseClient';

/**
 * Part 8: Genesys's receipt to the browser. 500 sessions, each with a stream and one message sent through the
 * service; the simulator then sends, for each session, a `Failed` receipt about that message (a `Receipt` frame on
 * the session's Guest API socket), paced at 200 a second, its reason's text stamped with process.hrtime.bigint() as
 * it goes onto the wire (CLOCK_MONOTONIC, the same clock in every process on the machine). The time is the
 * `receipt` stream event's arrival at the client minus that stamp. Two rounds.
 */
export const RECEIPTS = { sessions: 500, rounds: 2, rate: 200, targetP99Ms: 1000 };

export async function receiptsPart(ctx: Ctx): Promise<PartOutput> {
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const service = await startServiceProcess({
    env: serviceEnv(sim, port),
    port,
    logFile: join(ctx.logDir, 'receipts-service.log'),
    inspect: ctx.profileDir !== undefined,
  });
  const streams: StreamHandle[] = [];
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const posting = keepAliveAgent(64);
  try {
    ctx.log(`receipts: creating ${RECEIPTS.sessions} sessions, each with a stream and one message`);
    const tokens = await createSessions(service.url, RECEIPTS.sessions, 64, posting);
    const latencies: number[] = [];
    let unparsed = 0;
    let ended = 0;
    const onReceipt = (data: string, arrived: bigint) => {
      const match = /"status":"failed".*"message":"bench:(\d+)"/.exec(data);
      if (!match) {
        unparsed++;
        return;
      }
      latencies.push(Number(arrived - BigInt(match[1]!)) / 1e6);
    };
    await pool(tokens, 100, async (token) => {
      const s = openSse(
        `${service.url}/messages/stream`,
        authHeaders(token),
        agent,
        () => undefined,
        () => ended++,
        { receipt: onReceipt },
      );
      streams.push(s);
      await s.opened;
    });
    const posted = await pool(tokens, 32, async (token) => {
      const res = await requestJson(`${service.url}/messages`, {
        method: 'POST',
        headers: authHeaders(token),
        body: { text: 'a message Genesys will fail' },
        agent: posting,
        timeoutMs: 15_000,
      });
      return res.status;
    });
    const accepted = posted.filter((status) => status === 201).length;
    const guestTokens = await guestTokensOf(tokens);
    const rounds: { sent: number; received: number; ms: number }[] = [];
    await service.profiler?.start();
    for (let round = 0; round < RECEIPTS.rounds; round++) {
      const already = latencies.length;
      const said = await sim.admin<{ sent: number; failed: number; ms: number }>('POST', '/receipt', {
        tokens: guestTokens,
        ratePerSecond: RECEIPTS.rate,
      });
      const deadline = performance.now() + 5000;
      while (latencies.length - already < said.sent && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      rounds.push({ sent: said.sent, received: latencies.length - already, ms: said.ms });
    }
    if (ctx.profileDir) await service.profiler?.stop(join(ctx.profileDir, 'receipts.cpuprofile'));
    const delivery = summarize(latencies);
    const sent = rounds.reduce((a, r) => a + r.sent, 0);
    ctx.log(`receipts: ${delivery.n}/${sent} delivered, p50 ${ms(delivery.p50)} p99 ${ms(delivery.p99)}`);
    return {
      name: 'receipts',
      rows: [
        {
          part: '8 receipts',
          metric: `Genesys's Failed receipt -> client \`receipt\` event, p50 / p99 (${RECEIPTS.sessions} streams, ${RECEIPTS.rate}/s)`,
          value: `${ms(delivery.p50)} / ${ms(delivery.p99)} (${delivery.n}/${sent} delivered)`,
          target: `p99 <= ${RECEIPTS.targetP99Ms} ms`,
          met:
            delivery.p99 <= RECEIPTS.targetP99Ms && delivery.n === sent && sent === RECEIPTS.sessions * RECEIPTS.rounds,
        },
      ],
      data: {
        settings: RECEIPTS,
        messagesAccepted: accepted,
        rounds,
        delivery,
        unparsed,
        streamsEndedEarly: ended,
      },
    };
  } finally {
    for (const s of streams) s.close();
    agent.destroy();
    posting.destroy();
    await service.stop();
    await sim.stop();
  }
}
