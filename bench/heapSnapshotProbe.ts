import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { authHeaders, createSessions } from './lib/bff';
import { FastHttpPool } from './lib/fastHttp';
import { keepAliveAgent } from './lib/http';
import { openLoop, SessionPicker } from './lib/load';
import { freePort, serviceEnv, startServiceProcess, startSim } from './lib/procs';

/** Dev tool: a heap snapshot of the service in the middle of POST /messages at 500/s; counts request objects still reachable, with one retainer path. */
async function main(): Promise<void> {
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const service = await startServiceProcess({ env: serviceEnv(sim, port, { LOG_LEVEL: 'warn' }), port, logFile: '/tmp/bench-heap-service.log', inspect: true });
  const tokens = await createSessions(service.url, 1000, 32, keepAliveAgent(32));
  const client = new FastHttpPool(service.url, 32);
  const picker = new SessionPicker(tokens, 250);
  const body = JSON.stringify({ text: 'Hello, I would like to know where my order is.' });
  const op = async () => ((await client.request('POST', '/messages', authHeaders(await picker.next()), body)).status === 201 ? 'ok' : 'bad');
  const load = openLoop({ rate: 500, durationMs: 6000, op });
  await new Promise((r) => setTimeout(r, 3000));
  const ws = new WebSocket((service.profiler as unknown as { wsUrl: string }).wsUrl, { maxPayload: 2 ** 31 });
  await new Promise((r) => ws.once('open', r));
  const chunks: string[] = [];
  const done = new Promise<void>((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { id?: number; method?: string; params?: { chunk: string } };
      if (m.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(m.params!.chunk);
      if (m.id === 2) resolve();
    });
  });
  ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.enable' }));
  ws.send(JSON.stringify({ id: 2, method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: false } }));
  await done;
  await load;
  writeFileSync('/tmp/bench.heapsnapshot', chunks.join(''));
  const snap = JSON.parse(chunks.join('')) as {
    snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const nf = snap.snapshot.meta.node_fields.length;
  const ef = snap.snapshot.meta.edge_fields.length;
  const nName = snap.snapshot.meta.node_fields.indexOf('name');
  const nEdges = snap.snapshot.meta.node_fields.indexOf('edge_count');
  const eType = snap.snapshot.meta.edge_fields.indexOf('type');
  const eName = snap.snapshot.meta.edge_fields.indexOf('name_or_index');
  const eTo = snap.snapshot.meta.edge_fields.indexOf('to_node');
  const edgeTypes = snap.snapshot.meta.edge_types[0];
  const count = snap.nodes.length / nf;
  const retainers = new Map<number, { from: number; name: string }[]>();
  const counts = new Map<string, number>();
  let e = 0;
  for (let n = 0; n < count; n++) {
    const name = snap.strings[snap.nodes[n * nf + nName]!]!;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const edges = snap.nodes[n * nf + nEdges]!;
    for (let k = 0; k < edges; k++, e++) {
      const to = snap.edges[e * ef + eTo]! / nf;
      const type = edgeTypes[snap.edges[e * ef + eType]!];
      if (type === 'weak') continue;
      const nameOrIndex = snap.edges[e * ef + eName]!;
      const label = type === 'element' || type === 'hidden' ? `[${nameOrIndex}]` : snap.strings[nameOrIndex]!;
      const list = retainers.get(to) ?? [];
      list.push({ from: n, name: label });
      retainers.set(to, list);
    }
  }
  for (const name of ['IncomingMessage', 'ServerResponse', 'Timeout', 'Socket', 'Promise', 'GuestSession', 'Pending']) console.log(name, counts.get(name) ?? 0);
  const nameOf = (n: number) => snap.strings[snap.nodes[n * nf + nName]!]!;
  let shown = 0;
  for (let n = 0; n < count && shown < 3; n++) {
    if (nameOf(n) !== 'IncomingMessage') continue;
    shown++;
    let cur = n;
    const path: string[] = [];
    const seen = new Set<number>();
    for (let depth = 0; depth < 14; depth++) {
      const r = (retainers.get(cur) ?? []).find((x) => !seen.has(x.from));
      if (!r) break;
      seen.add(r.from);
      path.push(`${nameOf(r.from)}.${r.name}`);
      cur = r.from;
    }
    console.log(`IncomingMessage <- ${path.join(' <- ')}`);
  }
  ws.terminate();
  client.close();
  await service.stop();
  await sim.stop();
}
main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
