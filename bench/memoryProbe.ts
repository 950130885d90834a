import http from 'node:http';
import { authHeaders, createSessions } from './lib/bff';
import { keepAliveAgent } from './lib/http';
import { pool } from './lib/load';
import { freePort, serviceEnv, startServiceProcess, startSim } from './lib/procs';
import { openSse, type StreamHandle } from './lib/sseClient';

/**
 * Dev tool: where a live chat's memory goes in the service. Opens N sessions
 * (default 2,000; MEMORY_SESSIONS) and a stream on each, then through the
 * service's inspector collects garbage and reads `process.memoryUsage()`
 * before the sessions, after them and after the streams, and takes a heap
 * snapshot summarised by constructor (count and bytes per chat).
 *
 *   node dist/bench/bench/memoryProbe.js
 */
interface Usage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

async function main(): Promise<void> {
  const n = Number(process.env.MEMORY_SESSIONS ?? 2000);
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const extraEnv = JSON.parse(process.env.MEMORY_ENV ?? '{}') as Record<string, string>;
  const service = await startServiceProcess({
    env: serviceEnv(sim, port, { LOG_LEVEL: 'warn', ...extraEnv }),
    port,
    logFile: '/tmp/bench-memory-service.log',
    inspect: true,
  });
  const call = <T>(method: string, params: object = {}) => service.profiler!.call<T>(method, params);
  const usage = async (): Promise<Usage> => {
    await call('HeapProfiler.collectGarbage');
    const { result } = await call<{ result: { value: string } }>('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
    });
    return JSON.parse(result.value) as Usage;
  };
  const idle = await usage();
  const atIdle = await snapshotByName(service.profiler!);
  const tokens = await createSessions(service.url, n, 64, keepAliveAgent(64));
  const sessions = await usage();
  const before = await snapshotByName(service.profiler!);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const streams: StreamHandle[] = [];
  await pool(tokens, 200, async (token) => {
    const s = openSse(
      `${service.url}/messages/stream`,
      authHeaders(token),
      agent,
      () => undefined,
      () => undefined,
    );
    streams.push(s);
    await s.opened;
  });
  await new Promise((r) => setTimeout(r, 1000));
  const withStreams = await usage();
  const after = await snapshotByName(service.profiler!);
  const per = (a: Usage, b: Usage) =>
    Object.fromEntries(
      Object.keys(a).map((k) => [k, `${((b[k as keyof Usage] - a[k as keyof Usage]) / n / 1024).toFixed(1)} KB`]),
    );
  console.log(`${n} chats`);
  console.log('idle', JSON.stringify(idle));
  console.log('per session (socket, no stream)', JSON.stringify(per(idle, sessions)));
  console.log('per stream', JSON.stringify(per(sessions, withStreams)));
  console.log('per chat', JSON.stringify(per(idle, withStreams)));

  // Heap snapshots, summarised by node name (constructor), per chat: after the sessions, and what the streams added.
  console.log(`what the sessions added (each an upstream socket), per chat:`);
  printTop(before, atIdle, n);
  console.log(`what the streams added, per chat:`);
  printTop(after, before, n);
  for (const s of streams) s.close();
  agent.destroy();
  await service.stop();
  await sim.stop();
}

type ByName = Map<string, { count: number; bytes: number }>;

async function snapshotByName(
  profiler: NonNullable<Awaited<ReturnType<typeof startServiceProcess>>['profiler']>,
): Promise<ByName> {
  let chunks = '';
  const ws = (profiler as unknown as { ws?: import('ws').WebSocket }).ws!;
  const onChunk = (data: Buffer) => {
    const msg = JSON.parse(data.toString()) as { method?: string; params?: { chunk: string } };
    if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') chunks += msg.params!.chunk;
  };
  ws.on('message', onChunk);
  await profiler.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  ws.off('message', onChunk);
  const snap = JSON.parse(chunks) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const types = snap.snapshot.meta.node_types[0];
  const by: ByName = new Map();
  if (process.env.MEMORY_OWNERS) {
    // Who holds the large property stores (dictionary-mode objects): owner name -> count.
    const edgeFields = (snap.snapshot.meta as unknown as { edge_fields: string[] }).edge_fields;
    const edges = (snap as unknown as { edges: number[] }).edges;
    const ew = edgeFields.length;
    const toAt = edgeFields.indexOf('to_node');
    const countAt = fields.indexOf('edge_count');
    const owners = new Map<string, number>();
    let e = 0;
    for (let i = 0; i < snap.nodes.length; i += width) {
      const ownerName = snap.strings[snap.nodes[i + nameAt]!]!;
      for (let k = 0; k < snap.nodes[i + countAt]!; k++, e += ew) {
        const to = edges[e + toAt]!;
        if (snap.strings[snap.nodes[to + nameAt]!] === '(object properties)' && snap.nodes[to + sizeAt]! >= 512) {
          owners.set(ownerName, (owners.get(ownerName) ?? 0) + 1);
        }
      }
    }
    console.log(
      'owners of property stores >= 512 B:',
      JSON.stringify([...owners].sort((a, b) => b[1] - a[1]).slice(0, 15)),
    );
  }
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? '(string)'
        : `${snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 60)} [${type}]`;
    const e = by.get(name) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + sizeAt]!;
    by.set(name, e);
  }
  return by;
}

function printTop(now: ByName, base: ByName | undefined, n: number): void {
  const rows = [...now].map(([name, e]) => {
    const b = base?.get(name) ?? { count: 0, bytes: 0 };
    return { name, count: e.count - b.count, bytes: e.bytes - b.bytes };
  });
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  console.log(`  ${(total / n).toFixed(0)} B/chat in all`);
  for (const r of rows.sort((a, b) => b.bytes - a.bytes).slice(0, 30)) {
    console.log(
      `${(r.bytes / n).toFixed(0).padStart(7)} B/chat ${(r.count / n).toFixed(2).padStart(7)}/chat  ${r.name}`,
    );
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
