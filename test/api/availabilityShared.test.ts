import { availabilityEnvFor } from '../../simulator';
import { PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * GET /availability costs Genesys one refresh per interval for the deployment, however many browsers ask:
 * 500 requests at once, from many origins and sessions, are answered from one read of each endpoint.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } }, env: {} });
});
afterAll(() => stack.close());

test('500 concurrent requests from many origins and sessions make one Platform refresh', async () => {
  const { sim } = stack;
  const service = await startStack({
    simulator: sim,
    env: {
      ...availabilityEnvFor(sim),
      AVAILABILITY_REFRESH_SECONDS: '3600',
      AVAILABILITY_READS_PER_IP_PER_MINUTE: '100000',
      CONNECTIONS_PER_IP: '100000',
    },
  });
  try {
    const sessions = await Promise.all([1, 2, 3, 4, 5].map(() => service.newSession()));
    const origins = [
      PAGE_ORIGIN,
      'https://shop.example.com',
      ...Array.from({ length: 20 }, (_, i) => `https://s${i}.example.org`),
    ];
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        fetch(`${service.service.url}/availability`, {
          headers: {
            Origin: origins[i % origins.length]!,
            ...(i % 3 === 0 ? { Authorization: `Bearer ${sessions[i % sessions.length]!.token}` } : {}),
          },
        }).then(async (res) => ({
          status: res.status,
          cors: res.headers.get('access-control-allow-origin'),
          body: await res.json(),
        })),
      ),
    );
    expect(answers.every((a) => a.status === 200 && a.body.configured === true && a.body.open === true)).toBe(true);
    expect(new Set(answers.map((a) => a.body.asOf)).size).toBe(1);
    expect(answers.filter((a) => a.cors === null)).toEqual([]);
    for (const target of ['estimatedWait', 'queueObservations', 'scheduleGroup', 'emergencyGroup'] as const) {
      expect([target, sim.availability.reads(target)]).toEqual([target, 1]);
    }
  } finally {
    await service.close();
  }
}, 120_000);

test('a first read Genesys keeps waiting does not hold the first request: it is answered with the parts unknown', async () => {
  const { sim } = stack;
  const hold = sim.faults.holdRest('estimatedWait');
  const service = await startStack({ simulator: sim, env: { ...availabilityEnvFor(sim) } });
  try {
    await waitFor(() => hold.held() === 1);
    const first = await service.http.get('/availability').set('Origin', PAGE_ORIGIN);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ configured: true, open: true, reason: 'open', stale: false });
    expect([...first.body.unknown].sort()).toEqual(['agents', 'emergency', 'estimatedWait', 'schedule']);
    expect(first.headers['cache-control']).toBe('public, max-age=1');

    hold.release();
    await waitFor(async () => {
      const { body } = await service.http.get('/availability').set('Origin', PAGE_ORIGIN);
      return body.unknown.length === 0 && body.estimatedWaitSeconds === 45;
    });
  } finally {
    hold.release();
    await service.close();
  }
});
