import type { GuestSession } from '../../src/genesys/guest/guestSession';
import { DEFAULT_MESSENGER_FEATURES, type MessengerFeatures } from '../../src/genesys/platform/messengerConfig';
import { sessionsStarted } from '../../src/observability/metrics';
import { autoStart } from '../../src/session/autoStart';
import { fingerprint } from '../../src/session/tokens/sessionToken';
import { captureLogger } from '../support/app';

/** Autostart over a stand-in session: what goes out as the Join, what it reports delivered, what it counts and logs. */
function standIn(options: { signedIn?: boolean; joinFails?: Error } = {}) {
  const joins: unknown[][] = [];
  const session = {
    signIn: { value: options.signedIn ? { jwt: 'jwt' } : undefined },
    async sendJoin(...args: unknown[]) {
      joins.push(args);
      if (options.joinFails) throw options.joinFails;
      return { id: 'join', direction: 'inbound', type: 'event', time: new Date(0).toISOString() };
    },
  } as unknown as GuestSession;
  return { session, joins };
}

let log = captureLogger('warn');
beforeEach(() => {
  log = captureLogger('warn');
});

function deps(features: Partial<MessengerFeatures> | Error) {
  return {
    messengerFeatures: {
      get: async () =>
        features instanceof Error ? Promise.reject(features) : { ...DEFAULT_MESSENGER_FEATURES, ...features },
    },
    logger: log.logger,
  };
}

async function started(authenticated: 'true' | 'false'): Promise<number> {
  const { values } = await sessionsStarted.get();
  return values.find((v) => v.labels.authenticated === authenticated)?.value ?? 0;
}

test('the Join carries the attributes, and what it delivered is their fingerprint', async () => {
  const { session, joins } = standIn();
  const attrs = { tier: 'gold', name: 'Ada' };
  await expect(autoStart(session, attrs, deps({ autoStart: true }))).resolves.toBe(fingerprint(attrs));
  expect(joins).toEqual([[attrs]]);
  expect(fingerprint(attrs)).not.toBe('');
});

test('with no attributes the Join carries none (not an empty object), and nothing is reported delivered', async () => {
  const { session, joins } = standIn();
  await expect(autoStart(session, {}, deps({ autoStart: true }))).resolves.toBe('');
  expect(joins).toEqual([[undefined]]);
});

test('with autostart off no Join goes out and nothing is delivered', async () => {
  const { session, joins } = standIn();
  await expect(autoStart(session, { tier: 'gold' }, deps({ autoStart: false }))).resolves.toBe('');
  expect(joins).toHaveLength(0);
});

test('when config.json cannot be read, no Join goes out and the attributes stay undelivered', async () => {
  const { session, joins } = standIn();
  await expect(autoStart(session, { tier: 'gold' }, deps(new Error('config.json unavailable')))).resolves.toBe('');
  expect(joins).toHaveLength(0);
});

test('a failed Join leaves the attributes undelivered (they go with the first message) and is logged with its error', async () => {
  const failure = new Error('socket closed');
  const { session, joins } = standIn({ joinFails: failure });
  await expect(autoStart(session, { tier: 'gold' }, deps({ autoStart: true }))).resolves.toBe('');
  expect(joins).toHaveLength(1);
  const warnings = log.lines();
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ level: 40, err: { message: 'socket closed' } });
});

test.each([
  ['an anonymous', false, 'false'],
  ['a signed-in', true, 'true'],
] as const)(
  '%s session is counted as started once, labelled authenticated=%s, whether or not autostart is on',
  async (_, signedIn, label) => {
    const other = label === 'true' ? 'false' : 'true';
    for (const features of [{ autoStart: true }, { autoStart: false }, new Error('config.json unavailable')]) {
      const [before, otherBefore] = [await started(label), await started(other)];
      await autoStart(standIn({ signedIn }).session, {}, deps(features));
      expect(await started(label)).toBe(before + 1);
      expect(await started(other)).toBe(otherBefore);
    }
  },
);
