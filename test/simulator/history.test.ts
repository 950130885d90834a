import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startSimulator, type Simulator } from '../../simulator';
import { isMessage, RawGuest } from '../support/rawGuest';

/**
 * @simulator kind it tests the default profile's history; profile.test.ts tests what strict changes
 */
let sim: Simulator;
const guests: RawGuest[] = [];

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false } });
});
afterEach(async () => {
  await Promise.all(guests.splice(0).map((g) => g.close()));
  sim.reset();
  sim.setOptions({ jwtLifetimeSeconds: 3600 });
});
afterAll(() => sim.stop());

async function session(): Promise<{ guest: RawGuest; token: string }> {
  const guest = await RawGuest.connect(sim);
  guests.push(guest);
  const token = randomUUID();
  await guest.configure(sim, token);
  return { guest, token };
}

async function jwtFor(guest: RawGuest, token: string): Promise<{ jwt: string; exp: number }> {
  const reply = await guest.request({ action: 'getJwt', token });
  expect(reply).toMatchObject({ type: 'response', class: 'JwtResponse', code: 200 });
  return reply.body;
}

function history(auth: string | undefined, query = '') {
  return fetch(`${sim.urls.apiUrl}/api/v2/webmessaging/messages${query}`, {
    headers: auth === undefined ? {} : { authorization: auth },
  });
}

describe('getJwt', () => {
  it('answers JwtResponse with an HS256 JWT and exp in epoch seconds', async () => {
    sim.setOptions({ jwtLifetimeSeconds: 600 });
    const { guest, token } = await session();
    // The whole seconds the request was answered in bracket the issue time, however long it took.
    const askedAt = Math.floor(Date.now() / 1000);
    const { jwt, exp } = await jwtFor(guest, token);
    const answeredAt = Math.floor(Date.now() / 1000);
    expect(decodeProtectedHeader(jwt).alg).toBe('HS256');
    const claims = decodeJwt(jwt);
    expect(claims.exp).toBe(exp);
    expect(exp).toBeGreaterThanOrEqual(askedAt + 600);
    expect(exp).toBeLessThanOrEqual(answeredAt + 600);
    expect(JSON.stringify(claims)).not.toContain(token);
  });
});

describe('GET /api/v2/webmessaging/messages', () => {
  it('returns the session’s messages newest first, guest and agent, paged', async () => {
    const { guest, token } = await session();
    await guest.say(token, 'one');
    sim.agent.say(token, 'two', { originatingEntity: 'Human' });
    await guest.next(isMessage('Outbound'));
    await guest.say(token, 'three');
    sim.agent.disconnect(token, { readOnly: false });
    await guest.next(isMessage('Outbound', 'Event'));
    const { jwt } = await jwtFor(guest, token);

    const res = await history(`bearer ${jwt}`, '?pageNumber=1&pageSize=25');
    expect(res.status).toBe(200);
    expect(res.headers.get('inin-correlation-id')).toEqual(expect.any(String));
    const page = await res.json();
    expect(page).toMatchObject({ pageSize: 25, pageNumber: 1, total: 4, pageCount: 1 });
    expect(
      page.entities.map((e: { type: string; text?: string; direction: string }) => [e.direction, e.type, e.text]),
    ).toEqual([
      ['Outbound', 'Event', undefined],
      ['Inbound', 'Text', 'three'],
      ['Outbound', 'Text', 'two'],
      ['Inbound', 'Text', 'one'],
    ]);
    expect(page.entities[2]).toMatchObject({ originatingEntity: 'Human', channel: { time: expect.any(String) } });
    expect(page.entities[0]).toMatchObject({
      metadata: { readOnly: 'false' },
      events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
    });

    const second = await (await history(`Bearer ${jwt}`, '?pageNumber=2&pageSize=3')).json();
    expect(second).toMatchObject({ pageSize: 3, pageNumber: 2, total: 4, pageCount: 2 });
    expect(second.entities.map((e: { text?: string }) => e.text)).toEqual(['one']);
    expect(sim.stats.historyRequests).toBe(2);
  });

  it('stamps message times with its clock when asked to (clockTimesMessages)', async () => {
    const at = Date.parse('2031-05-01T12:00:00.000Z');
    sim.setOptions({ clock: () => at, clockTimesMessages: true });
    try {
      const { guest, token } = await session();
      await guest.say(token, 'on the clock');
      sim.agent.say(token, 'so is this');
      const live = await guest.next(isMessage('Outbound'));
      expect(live.body.channel.time).toBe('2031-05-01T12:00:00.000Z');
      const page = await (await history(`bearer ${(await jwtFor(guest, token)).jwt}`)).json();
      expect(page.entities.map((e: { channel: { time: string } }) => e.channel.time)).toEqual([
        '2031-05-01T12:00:00.000Z',
        '2031-05-01T12:00:00.000Z',
      ]);
    } finally {
      sim.setOptions({ clock: Date.now, clockTimesMessages: false });
    }
  });

  it('is scoped to the JWT’s session', async () => {
    const a = await session();
    const b = await session();
    await a.guest.say(a.token, 'from a');
    await b.guest.say(b.token, 'from b');
    const page = await (await history(`bearer ${(await jwtFor(b.guest, b.token)).jwt}`)).json();
    expect(page.entities.map((e: { text: string }) => e.text)).toEqual(['from b']);
  });

  it('answers an empty conversation like the [MT-test] fixture', async () => {
    const { guest, token } = await session();
    const page = await (await history(`bearer ${(await jwtFor(guest, token)).jwt}`)).json();
    expect(page).toEqual({ entities: [], pageSize: 0, pageNumber: 1, total: 0, pageCount: 0 });
  });

  it('answers a missing, forged or expired JWT with 401 ErrorBody', async () => {
    const missing = await history(undefined);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ code: 'authentication.required', status: 401 });

    const { guest, token } = await session();
    const { jwt } = await jwtFor(guest, token);
    const [header, payload] = jwt.split('.');
    const forged = await history(`bearer ${header}.${payload}.${'A'.repeat(43)}`);
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({
      message: 'Invalid login credentials.',
      code: 'bad.credentials',
      status: 401,
      details: [],
      errors: [],
    });

    sim.setOptions({ jwtLifetimeSeconds: -10 });
    const expired = await history(`bearer ${(await jwtFor(guest, token)).jwt}`);
    expect(expired.status).toBe(401);
  });

  it('refuses a bad page query with 400 bad.request', async () => {
    const { guest, token } = await session();
    const res = await history(`bearer ${(await jwtFor(guest, token)).jwt}`, '?pageSize=abc');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'bad.request' });
  });
});
