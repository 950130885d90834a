import { authHeaders, createSessions, kept, keepNewestToken } from './lib/bff';
import { FastHttpPool } from './lib/fastHttp';
import { keepAliveAgent } from './lib/http';
import { closedLoop, openLoop, SessionPicker, summarize, type Op } from './lib/load';
import { cpuMeter, freePort, SERVICE_MAIN, serviceEnv, startServiceProcess, startSim } from './lib/procs';

/**
 * Dev tool, not part of `npm run bench`: one kind of request against fresh
 * service processes, printing CPU per request, saturation throughput and
 * latency at a fixed rate. With several entries (builds of the service) it
 * alternates them round by round, so a noisy machine hits both alike: the
 * A/B behind the before/after figures in bench/README.md.
 *
 *   node dist/bench/bench/probe.js [healthz|attributes|messages ...] [--seconds=6] [--rounds=1]
 *        [--entries=before/src/main.js,dist/bench/src/main.js] [--node-arg=--perf-basic-prof]
 *   PROBE_ENV='{"LOG_LEVEL":"warn"}' node dist/bench/bench/probe.js messages
 *   PROBE_PROFILE=/tmp/sat.cpuprofile node dist/bench/bench/probe.js messages   (a CPU profile of the saturation window)
 */
interface Sample {
  throughput: number;
  cpuUs: number;
  p50: number;
  p99: number;
}

async function measure(entry: string, kind: string, seconds: number, nodeArgs: string[]): Promise<Sample> {
  const sim = await startSim({ agent: { enabled: false } });
  const port = await freePort();
  const env = JSON.parse(process.env.PROBE_ENV ?? '{}') as Record<string, string>;
  const profileTo = process.env.PROBE_PROFILE;
  const service = await startServiceProcess({
    env: serviceEnv(sim, port, env),
    port,
    entry,
    logFile: '/tmp/bench-probe-service.log',
    nodeArgs,
    inspect: profileTo !== undefined,
  });
  try {
    const tokens = await createSessions(
      service.url,
      Number(process.env.PROBE_SESSIONS ?? 1000),
      32,
      keepAliveAgent(32),
    );
    const client = new FastHttpPool(service.url, 32);
    const picker = new SessionPicker(kept(tokens), 250);
    const body = JSON.stringify({ text: 'Hello, I would like to know where my order is.' });
    const ops: Record<string, Op> = {
      healthz: async () => ((await client.request('GET', '/healthz', {})).status === 200 ? 'ok' : 'bad'),
      attributes: async () =>
        (await client.request('GET', '/guest-attributes', authHeaders((await picker.next()).token))).status === 200
          ? 'ok'
          : 'bad',
      messages: async () => {
        const session = await picker.next();
        const res = await client.request('POST', '/messages', authHeaders(session.token), body);
        if (res.status !== 201) return 'bad';
        keepNewestToken(session, res.body);
        return 'ok';
      },
    };
    const op = ops[kind];
    if (!op) throw new Error(`unknown kind ${kind}`);
    await closedLoop({ concurrency: 32, durationMs: 1500, op });
    const cpu = cpuMeter({ service: service.pid });
    await service.profiler?.start();
    const sat = await closedLoop({ concurrency: 32, durationMs: seconds * 1000, op });
    if (profileTo) await service.profiler!.stop(profileTo);
    const cpuUs = (cpu().service! * 1000) / sat.ok;
    const fixed = await openLoop({ rate: Number(process.env.PROBE_RATE ?? 500), durationMs: seconds * 1000, op });
    client.close();
    return { throughput: sat.throughput, cpuUs, p50: fixed.latency.p50, p99: fixed.latency.p99 };
  } finally {
    await service.stop();
    await sim.stop();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const seconds = Number(option('seconds', '6'));
  const rounds = Number(option('rounds', '1'));
  const entries = option('entries', SERVICE_MAIN).split(',');
  const nodeArgs = args.filter((a) => a.startsWith('--node-arg=')).map((a) => a.slice(11));
  const kinds = args.filter((a) => !a.startsWith('--'));
  const results = new Map<string, Sample[]>();
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds.length > 0 ? kinds : ['healthz', 'attributes', 'messages']) {
      for (const entry of entries) {
        const s = await measure(entry, kind, seconds, nodeArgs);
        const key = `${kind} ${entry}`;
        results.set(key, [...(results.get(key) ?? []), s]);
        console.log(
          `round ${round + 1} ${key}: ${s.throughput.toFixed(0)}/s, service CPU ${s.cpuUs.toFixed(0)} us/request, at 500/s p50 ${s.p50.toFixed(2)} ms p99 ${s.p99.toFixed(2)} ms`,
        );
      }
    }
  }
  console.log('\nmedians:');
  for (const [key, samples] of results) {
    const med = (f: (s: Sample) => number) => summarize(samples.map(f)).p50;
    console.log(
      `${key}: ${med((s) => s.throughput).toFixed(0)}/s, CPU ${med((s) => s.cpuUs).toFixed(0)} us, p50 ${med((s) => s.p50).toFixed(2)} ms, p99 ${med((s) => s.p99).toFixed(2)} ms (${samples.length} rounds)`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
