import { writeFileSync } from 'node:fs';
import { authHeaders, createSessions } from './lib/bff';
import { FastHttpPool } from './lib/fastHttp';
import { keepAliveAgent } from './lib/http';
import { openLoop, SessionPicker } from './lib/load';
import { freePort, serviceEnv, startServiceProcess, startSim } from './lib/procs';

/**
 * Dev tool: which allocations of POST /messages survive a scavenge (sampling heap profiler through the
 * inspector); with HEAP_ALL=1, every allocation.
 */
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
async function main(): Promise<void> {
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const service = await startServiceProcess({
    env: serviceEnv(sim, port, { LOG_LEVEL: 'warn' }),
    port,
    logFile: '/tmp/bench-heap-service.log',
    inspect: true,
  });
  const tokens = await createSessions(service.url, 1000, 32, keepAliveAgent(32));
  const client = new FastHttpPool(service.url, 32);
  const picker = new SessionPicker(tokens, 250);
  const body = JSON.stringify({ text: 'Hello, I would like to know where my order is.' });
  const op = async () =>
    (await client.request('POST', '/messages', authHeaders(await picker.next()), body)).status === 201 ? 'ok' : 'bad';
  await openLoop({ rate: 500, durationMs: 2000, op });
  const call = <T>(method: string, params: object = {}) => service.profiler!.call<T>(method, params);
  await call('HeapProfiler.enable');
  await call('HeapProfiler.startSampling', {
    samplingInterval: 2048,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.HEAP_ALL === '1',
  });
  await openLoop({ rate: 500, durationMs: 6000, op });
  const { profile } = await call<{ profile: { head: HeapNode } }>('HeapProfiler.stopSampling');
  writeFileSync('/tmp/bench-heap.heapprofile', JSON.stringify(profile));
  const bySite = new Map<string, number>();
  const walk = (n: HeapNode, stack: string[]) => {
    const here = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
    const s = [...stack, here];
    if (n.selfSize > 0) {
      const key = s.slice(-4).join(' < ');
      bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, s);
  };
  walk(profile.head, []);
  const total = [...bySite.values()].reduce((a, b) => a + b, 0);
  console.log(
    `${process.env.HEAP_ALL === '1' ? 'allocated' : 'survived a scavenge'}: ${(total / 1e6).toFixed(1)} MB sampled over 3000 messages`,
  );
  for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`${(v / 1e3).toFixed(0).padStart(7)} KB  ${k}`);
  client.close();
  await service.stop();
  await sim.stop();
}
main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
