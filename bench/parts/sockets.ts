import { join } from 'node:path';
import { authHeaders, createSessions, guestTokensOf } from '../lib/bff';
import { keepAliveAgent, requestJson } from '../lib/http';
import { pool } from '../lib/load';
import { freePort, serviceEnv, startServiceProcess, startSim } from '../lib/procs';
import type { Ctx, PartOutput } from '../lib/report';

/**
 * Part 4: upstream sockets. 200 sessions each send 20 messages (4 a second,
 * inside the 5/s limit); the simulator counts the Guest API sockets opened,
 * in all and per session. Target: exactly one per session.
 */
const SESSIONS = 200;
const MESSAGES = 20;
const SPACING_MS = 250;

export async function socketsPart(ctx: Ctx): Promise<PartOutput> {
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const service = await startServiceProcess({
    env: serviceEnv(sim, port),
    port,
    logFile: join(ctx.logDir, 'sockets-service.log'),
  });
  try {
    const before = await sim.stats();
    const agent = keepAliveAgent(SESSIONS);
    const tokens = await createSessions(service.url, SESSIONS, 32, agent);
    const statuses: Record<string, number> = {};
    await pool(tokens, SESSIONS, async (token, i) => {
      await new Promise((r) => setTimeout(r, (i * SPACING_MS) / SESSIONS));
      for (let m = 0; m < MESSAGES; m++) {
        const t = performance.now();
        // Longer than the service's own Genesys deadline (10 s): a send Genesys never answers is the service's 504, counted, not the part's failure.
        const status = await requestJson(`${service.url}/messages`, {
          method: 'POST',
          headers: authHeaders(token),
          body: { text: `message ${m + 1}` },
          agent,
          timeoutMs: 15_000,
        }).then(
          (res) => String(res.status),
          (error: Error) => (error.message.startsWith('timeout') ? 'timeout' : 'error'),
        );
        statuses[status] = (statuses[status] ?? 0) + 1;
        const wait = SPACING_MS - (performance.now() - t);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    });
    agent.destroy();
    const after = await sim.stats();
    const opened = after.connectionsOpened - before.connectionsOpened;
    const { counts } = await sim.admin<{ counts: number[] }>('POST', '/connections', {
      tokens: await guestTokensOf(tokens),
    });
    const perSession: Record<string, number> = {};
    for (const c of counts) perSession[c] = (perSession[c] ?? 0) + 1;
    const sent = statuses['201'] ?? 0;
    // A socket the simulator ties to no session is the Guest API health probe's handshake (slow calls under load
    // ask for one, at most every few seconds): counted apart, since the target is about the sessions' own sockets.
    const bySessions = counts.reduce((sum, c) => sum + c, 0);
    const probes = opened - bySessions;
    ctx.log(
      `sockets: ${SESSIONS} sessions x ${MESSAGES} messages (${sent} sent) -> ${opened} sockets opened ` +
        `(${bySessions} by the sessions, ${probes} by the health probe)`,
    );
    const part = '4 upstream sockets';
    const answers = sent < SESSIONS * MESSAGES ? `, answers ${JSON.stringify(statuses)}` : '';
    return {
      name: 'sockets',
      rows: [
        {
          part,
          metric: `${SESSIONS} sessions x ${MESSAGES} messages: sockets opened by the sessions`,
          value:
            `${bySessions} (${(bySessions / SESSIONS).toFixed(2)} per session; ${sent}/${SESSIONS * MESSAGES} sent` +
            `${answers}); ${probes} more by the health probe`,
          target: '1 per session',
          met: counts.length === SESSIONS && counts.every((c) => c === 1) && sent === SESSIONS * MESSAGES,
        },
      ],
      data: {
        sessions: SESSIONS,
        messagesPerSession: MESSAGES,
        spacingMs: SPACING_MS,
        socketsOpened: opened,
        socketsOpenedByProbes: probes,
        sessionsBySocketCount: perSession,
        statuses,
      },
    };
  } finally {
    await service.stop();
    await sim.stop();
  }
}
