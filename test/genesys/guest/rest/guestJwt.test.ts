import { randomUUID } from 'node:crypto';
import axios from 'axios';
import nock from 'nock';
import { startSimulator, type Simulator } from '../../../../simulator';
import { GuestHistory } from '../../../../src/genesys/guest/rest/history';
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
  const seen: string[] = [];
  nock('https://api.jwt.test')
    .get('/api/v2/webmessaging/messages')
    .query(true)
    .times(2)
    .reply(function () {
      const auth = String(this.req.headers.authorization);
      seen.push(auth);
      return auth === `bearer ${refused}`
        ? [401, { code: 'bad.credentials' }]
        : [200, { entities: [], pageNumber: 1, total: 0 }];
    });
  const history = new GuestHistory(axios.create(), 'https://api.jwt.test', 'http://localhost:3000');
  const page = await history.page(session, 1, 25);
  expect(page.messages).toEqual([]);
  expect(seen).toHaveLength(2);
  expect(seen[0]).toBe(`bearer ${refused}`);
  expect(seen[1]).not.toBe(`bearer ${refused}`);
  nock.cleanAll();
});
