import { join } from 'node:path';
import { freePort, serviceEnv, startServiceProcess, startSim } from '../lib/procs';
import { mb, ms, type Ctx, type PartOutput } from '../lib/report';

/**
 * Part 6: time from spawning `node dist/src/main.js` (the compiled service,
 * as `npm start` runs it) to the first GET /readyz 200 (configuration
 * valid, OAuth token obtained, deployment Active, Messenger config read
 * from the simulator), and resident memory once idle (2 s after ready).
 * Five starts; the median and the worst are reported.
 */
const STARTS = 5;

export async function startupPart(ctx: Ctx): Promise<PartOutput> {
  const sim = await startSim({ agent: { enabled: false } });
  const readyMs: number[] = [];
  const listenMs: number[] = [];
  const idleRss: number[] = [];
  try {
    for (let i = 0; i < STARTS; i++) {
      const port = await freePort();
      const service = await startServiceProcess({
        env: serviceEnv(sim, port),
        port,
        logFile: join(ctx.logDir, 'startup-service.log'),
      });
      readyMs.push(service.readyMs);
      listenMs.push(service.listenMs);
      await new Promise((r) => setTimeout(r, 2000));
      idleRss.push(service.rssBytes());
      await service.stop();
    }
  } finally {
    await sim.stop();
  }
  const sorted = [...readyMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const worst = sorted[sorted.length - 1]!;
  const rss = [...idleRss].sort((a, b) => a - b)[Math.floor(idleRss.length / 2)]!;
  ctx.log(`startup: ready in ${ms(median, 0)} (median of ${STARTS}), worst ${ms(worst, 0)}; idle RSS ${mb(rss)}`);
  const part = '6 startup';
  return {
    name: 'startup',
    rows: [
      {
        part,
        metric: `process start -> /readyz 200 (median / worst of ${STARTS})`,
        value: `${ms(median, 0)} / ${ms(worst, 0)}`,
        target: '< 1 s',
        met: worst < 1000,
      },
      {
        part,
        metric: 'process start -> listening (median)',
        value: ms([...listenMs].sort((a, b) => a - b)[Math.floor(listenMs.length / 2)]!, 0),
      },
      { part, metric: 'RSS at idle', value: mb(rss) },
    ],
    data: { readyMs, listenMs, idleRssBytes: idleRss },
  };
}
