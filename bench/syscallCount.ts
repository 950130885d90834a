import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { authHeaders, createSessions } from './lib/bff';
import { FastHttpPool } from './lib/fastHttp';
import { keepAliveAgent } from './lib/http';
import { closedLoop, openLoop, SessionPicker } from './lib/load';
import { BUILD_DIR, freePort, serviceEnv, startServiceProcess, startSim } from './lib/procs';

/** Dev tool: system calls per POST /messages of the service and of the bare Express relay (strace -c over a paced window). */
async function main(): Promise<void> {
  const sim = await startSim({ agent: { enabled: false } });
  await sim.admin('POST', '/options', { messagesPerSecond: 100 });
  const count = Number(process.env.COUNT ?? 1000);
  for (const kind of ['service', 'express']) {
    const port = await freePort();
    const proc =
      kind === 'service'
        ? await startServiceProcess({
            env: serviceEnv(sim, port, { METRICS_PORT: '0' }),
            port,
            logFile: '/tmp/sc/service.log',
            nodeArgs: process.env.PRELOAD ? ['-r', process.env.PRELOAD] : [],
          })
        : await startServiceProcess({
            env: {
              PATH: process.env.PATH,
              NODE_ENV: 'production',
              PORT: String(port),
              RELAY: 'express',
              SIM_WS_URL: sim.urls.webMessagingUrl,
              SIM_API_URL: sim.urls.apiUrl,
              DEPLOYMENT_ID: sim.deploymentId,
            },
            port,
            entry: join(BUILD_DIR, 'bench', 'relayProcess.js'),
            logFile: '/tmp/sc/relay.log',
          });
    const tokens = await createSessions(proc.url, 300, 32, keepAliveAgent(32));
    const client = new FastHttpPool(proc.url, 16);
    const picker = new SessionPicker(tokens, 250);
    const body = JSON.stringify({ text: 'Hello, I would like to know where my order is.' });
    const op = async () =>
      (await client.request('POST', '/messages', authHeaders(await picker.next()), body)).status === 201 ? 'ok' : 'bad';
    await closedLoop({ concurrency: 8, durationMs: 2000, op });
    const out = `/tmp/sc/${kind}.strace`;
    if (kind === 'service' && process.env.PRELOAD) process.kill(proc.pid, 'SIGUSR2');
    const tracer = spawn('strace', ['-f', '-c', '-o', out, '-p', String(proc.pid)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    const r = await openLoop({
      rate: Number(process.env.RATE ?? 100),
      durationMs: (count / Number(process.env.RATE ?? 100)) * 1000,
      op,
    });
    tracer.kill('SIGINT');
    if (kind === 'service' && process.env.PRELOAD) process.kill(proc.pid, 'SIGUSR2');
    await new Promise((r2) => tracer.once('exit', r2));
    console.log(`${kind}: ${r.ok} ok; strace summary in ${out} (includes ~1 s idle before)`);
    client.close();
    await proc.stop();
  }
  await sim.stop();
}
main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
