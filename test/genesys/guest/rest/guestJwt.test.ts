import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { startSimulator, type Simulator } from '../../../../simulator';
import { GuestHistory } from '../../../../src/genesys/guest/rest/history';
import { GuestJwtCache, type GuestJwt } from '../../../../src/genesys/guest/rest/guestJwt';
import type { SessionHub } from '../../../../src/genesys/guest/sessionHub';
import { hubFor } from '../../../support/guestHub';

/** The guest JWT for history: renewed before it expires, and never re-used after Genesys refused it. */
let sim: Simulator;
let hub: SessionHub;
beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false }, jwtLifetimeSeconds: 3600 });
});
afterAll(() => sim.stop());
afterEach(() => hub?.close());

test('a JWT inside the refresh margin is renewed; one outside it is reused', async () => {
  let clock = Date.now();
  hub = hubFor(sim, { now: () => clock });
  const session = hub.session(randomUUID());
  const first = await session.getJwt();
  expect(await session.getJwt()).toBe(first);
  // Counted from the JWT's own exp: with 61 s left it is reused, with 30 s left (inside the 60 s margin) renewed.
  clock = first.exp * 1000 - 61_000;
  expect(await session.getJwt()).toBe(first);
  clock = first.exp * 1000 - 30_000;
  const renewed = await session.getJwt();
  expect(renewed.jwt).not.toBe(first.jwt);
  expect(sim.received.filter((f) => f.frame.action === 'getJwt')).toHaveLength(2);
});

test('after a 401, history asks for a new JWT and retries with it, not with the refused one', async () => {
  hub = hubFor(sim);
  const session = hub.session(randomUUID());
  await session.ready();
  const refused = (await session.getJwt()).jwt;
  // The Platform API's history, on loopback: a stand-in no other suite's interceptors can answer in its place.
  const seen: string[] = [];
  const paths: string[] = [];
  const api = http.createServer((req, res) => {
    const auth = String(req.headers.authorization);
    seen.push(auth);
    paths.push(new URL(req.url ?? '/', 'http://api').pathname);
    res.setHeader('content-type', 'application/json');
    if (auth === `bearer ${refused}`) res.writeHead(401).end(JSON.stringify({ code: 'bad.credentials' }));
    else res.writeHead(200).end(JSON.stringify({ entities: [], pageNumber: 1, total: 0 }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = api.address() as AddressInfo;
    const history = new GuestHistory(axios.create(), `http://127.0.0.1:${port}`, 'http://localhost:3000');
    const page = await history.page(session, 1, 25);
    expect(page.messages).toEqual([]);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(`bearer ${refused}`);
    expect(seen[1]).not.toBe(`bearer ${refused}`);
    expect(paths).toEqual(['/api/v2/webmessaging/messages', '/api/v2/webmessaging/messages']);
  } finally {
    api.closeAllConnections();
    await new Promise<void>((resolve) => api.close(() => resolve()));
  }
});

describe('GuestJwtCache', () => {
  /** A cache over a stand-in getJwt: each fetch answers with a JWT numbered in order, expiring `lifeSeconds` on. */
  function cache(lifeSeconds = 3600, marginMs = 60_000) {
    let clock = 1_000_000;
    let fetches = 0;
    const pending: (() => void)[] = [];
    let fail = false;
    const jwts = new GuestJwtCache(
      () => {
        const n = ++fetches;
        return new Promise<GuestJwt>((resolve, reject) => {
          const answer = () =>
            fail ? reject(new Error('refused')) : resolve({ jwt: `jwt-${n}`, exp: clock / 1000 + lifeSeconds });
          pending.push(answer);
        });
      },
      marginMs,
      () => clock,
    );
    const answerAll = () => pending.splice(0).forEach((answer) => answer());
    /** One get, answered at once. */
    const get = async () => {
      const got = jwts.get();
      answerAll();
      return (await got).jwt;
    };
    return {
      jwts,
      get,
      answerAll,
      fetches: () => fetches,
      setClock: (at: number) => (clock = at),
      failNext: (v: boolean) => (fail = v),
    };
  }

  test('gets while one fetch is under way share it: one getJwt, one JWT', async () => {
    const c = cache();
    const gets = [c.jwts.get(), c.jwts.get(), c.jwts.get()];
    c.answerAll();
    expect((await Promise.all(gets)).map((j) => j.jwt)).toEqual(['jwt-1', 'jwt-1', 'jwt-1']);
    expect(c.fetches()).toBe(1);
  });

  test('kept until exactly `marginMs` before its exp: at that instant it is fetched again', async () => {
    const c = cache(3600, 60_000);
    expect(await c.get()).toBe('jwt-1');
    const exp = 1_000_000 + 3600_000;
    c.setClock(exp - 60_001);
    expect(await c.get()).toBe('jwt-1');
    c.setClock(exp - 60_000);
    expect(await c.get()).toBe('jwt-2');
    expect(c.fetches()).toBe(2);
  });

  test('a failed fetch is not kept: the next get asks again', async () => {
    const c = cache();
    c.failNext(true);
    await expect(c.get()).rejects.toThrow('refused');
    c.failNext(false);
    expect(await c.get()).toBe('jwt-2');
  });

  test('forget drops a JWT still in date: the next get fetches a new one', async () => {
    const c = cache();
    expect(await c.get()).toBe('jwt-1');
    c.jwts.forget();
    expect(await c.get()).toBe('jwt-2');
    expect(await c.get()).toBe('jwt-2');
  });
});
