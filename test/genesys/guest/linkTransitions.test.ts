import pino from 'pino';
import { GuestApiError } from '../../../src/genesys/guest/protocol/errors';
import { SessionLink } from '../../../src/genesys/guest/sessionLink';
import { metricsText } from '../../../src/observability/metrics';
import { parseScrape } from '../../support/metrics';

/**
 * The one place a link's state changes (SessionLink's `apply`): each change
 * of kind is logged at debug with the session's logger and counted in
 * `genesys_bff_guest_link_transitions_total` by the kinds left and entered;
 * a refused event changes, logs and counts nothing.
 */

type LinkOwner = ConstructorParameters<typeof SessionLink>[1];

function standIn() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const died: GuestApiError[] = [];
  const owner = {
    desk: { size: 0, failAll: () => undefined, flush: () => undefined },
    listeners: () => 0,
    emit: () => undefined,
    die: (error: GuestApiError) => void died.push(error),
    now: () => 0,
  } as unknown as LinkOwner;
  const refused = new GuestApiError('handshake_refused', 'refused');
  const link = new SessionLink(
    {
      token: 'token',
      deploymentId: 'deployment',
      webMessagingUrl: 'ws://127.0.0.1:9',
      origin: 'http://localhost:3000',
      logger,
      requestTimeoutMs: 1000,
      beforeSocketOpen: () => Promise.reject(refused),
    },
    owner,
  );
  const changes = () =>
    lines.filter((l) => l.msg === 'guest link state changed').map((l) => `${l.event}: ${l.from} -> ${l.to}`);
  return { link, lines, changes, died, refused };
}

async function transitions(): Promise<(from: string, to: string) => number> {
  const scrape = parseScrape(await metricsText());
  return (from, to) => scrape.value('genesys_bff_guest_link_transitions_total', { from, to });
}

test('a connect that is refused: idle to connecting and back, each change logged at debug and counted', async () => {
  const h = standIn();
  const before = await transitions();
  await expect(h.link.connect()).rejects.toBe(h.refused);
  expect(h.died).toEqual([h.refused]);
  expect(h.changes()).toEqual(['connectRequested: idle -> connecting', 'attemptSettled: connecting -> idle']);
  expect(h.lines.filter((l) => l.msg === 'guest link state changed').every((l) => l.level === 20)).toBe(true);
  const after = await transitions();
  expect(after('idle', 'connecting') - before('idle', 'connecting')).toBe(1);
  expect(after('connecting', 'idle') - before('connecting', 'idle')).toBe(1);
  expect(h.link.isConnecting).toBe(false);
});

test('the end of the session: dead once, its error kept; what follows is refused and leaves no trace', async () => {
  const h = standIn();
  const before = await transitions();
  const gone = new GuestApiError('session_expired', 'expired');
  expect(h.link.end(gone)).toBe(true);
  expect(h.link.end(new GuestApiError('unavailable', 'retired'))).toBe(false);
  expect(h.link.dead()).toBe(gone);
  await expect(h.link.connect()).rejects.toBe(gone);
  h.link.close();
  h.link.closedByServer = true;
  expect(h.link.closedByServer).toBe(false);
  expect(h.changes()).toEqual(['sessionEnded: idle -> dead']);
  const after = await transitions();
  expect(after('idle', 'dead') - before('idle', 'dead')).toBe(1);
  expect(h.died).toEqual([]);
});

test('news of the session changes what the link holds, not its kind: nothing logged or counted', () => {
  const h = standIn();
  const info = { connected: true, newSession: true, readOnly: false } as never;
  h.link.describe(info);
  expect(h.link.info).toBe(info);
  expect(h.changes()).toEqual([]);
});
