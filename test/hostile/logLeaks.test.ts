import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startSimulator, type Simulator } from '../../simulator';
import { bearer, guestTokenOf, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

/**
 * No log line may hold a credential, in any failure path we can provoke:
 * a history read that dies at the network level or times out (the HTTP
 * client's error holds `Authorization: bearer <guest JWT>`), Genesys error
 * texts that echo what they were sent, and secrets in unknown paths.
 */
let sim: Simulator;
let stack: Stack;
let resetter: net.Server;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  // Every connection to this "API host" is accepted and reset at once.
  resetter = net.createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => resetter.listen(0, '127.0.0.1', resolve));
  stack = await startStack({ simulator: sim });
});
afterAll(async () => {
  await stack.close();
  await sim.stop();
  await new Promise((resolve) => resetter.close(resolve));
});

/** Everything secret this session has: its session token, its Genesys guest token, any JWT. */
function expectNoSecretIn(log: string, secrets: string[]): void {
  for (const secret of secrets) expect(log).not.toContain(secret);
  expect(log).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
  expect(log.toLowerCase()).not.toMatch(/bearer [a-z0-9_-]{8,}/);
}

async function guest(on: Stack): Promise<{ token: string; guestToken: string }> {
  const before = sim.received.length;
  const { token } = await on.newSession();
  return { token, guestToken: guestTokenOf(sim, before) };
}

test('a history read reset at the network level logs no JWT and no token', async () => {
  const own = await startStack({
    simulator: sim,
    env: { GENESYS_API_URL: `http://127.0.0.1:${(resetter.address() as AddressInfo).port}` },
  });
  try {
    const g = await guest(own);
    const res = await own.http.get('/messages').set(bearer(g.token));
    expect(res.status).toBeGreaterThanOrEqual(500);
    const log = own.log.text();
    expect(log).toContain('ECONNRESET');
    expectNoSecretIn(log, [g.token, g.guestToken]);
  } finally {
    await own.close();
  }
});

test('a history read that times out logs no JWT and no token', async () => {
  // A deadline the session's own start keeps well inside on a busy machine; history is held twice as long.
  const own = await startStack({ simulator: sim, env: { GENESYS_TIMEOUT_MS: '3000' } });
  try {
    const g = await guest(own);
    sim.faults.delayRest('history', 2 * own.config.process.genesys.timeoutMs, { times: 2 });
    const res = await own.http.get('/messages').set(bearer(g.token));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expectNoSecretIn(own.log.text(), [g.token, g.guestToken]);
  } finally {
    sim.faults.clear();
    await own.close();
  }
});

test('a Genesys error text that echoes credentials is scrubbed before it is logged', async () => {
  const g = await guest(stack);
  const echoed = `invalid token ${g.guestToken} for bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl from ceo@victim.example`;
  sim.faults.failRest('history', { status: 500, body: { message: echoed, code: 'internal.server.error' }, times: 2 });
  try {
    const res = await stack.http.get('/messages').set(bearer(g.token));
    expect(res.status).toBeGreaterThanOrEqual(500);
    const log = stack.log.text();
    expectNoSecretIn(log, [g.token, g.guestToken, 'ceo@victim.example']);
    expect(log).toContain('[uuid]');
  } finally {
    sim.faults.clear();
  }
});

test('a secret in the query of an unknown path or a route is never logged', async () => {
  const g = await guest(stack);
  await stack.http
    .get(`/no-such-path?sessionToken=${encodeURIComponent(g.token)}&x=${g.guestToken}`)
    .set({ Origin: PAGE_ORIGIN });
  await stack.http.get(`/messages?page=1&%73essionToken=${encodeURIComponent(g.token)}`).set(bearer(g.token));
  await stack.http.get(`/${encodeURIComponent(g.token)}`).set({ Origin: PAGE_ORIGIN });
  expectNoSecretIn(stack.log.text(), [g.token, encodeURIComponent(g.token), g.guestToken]);
});
