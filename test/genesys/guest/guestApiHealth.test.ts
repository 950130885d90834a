import { GuestApiError } from '../../../src/genesys/guest/errors';
import { GuestApiHealth } from '../../../src/genesys/guest/guestApiHealth';
import { createLogger } from '../../../src/observability/logger';
import { Readiness } from '../../../src/observability/readiness';

describe('GuestApiHealth (the guestApi readiness check)', () => {
  let health: GuestApiHealth;
  let readiness: Readiness;
  let lines: Array<{ level: number; msg: string; genesysCode?: number }>;

  beforeEach(() => {
    lines = [];
    readiness = new Readiness();
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
    health = new GuestApiHealth({
      webMessagingUrl: 'wss://webmessaging.example.invalid',
      deploymentId: 'deployment-1',
      origin: 'https://bff.example.org',
      readiness,
      logger,
      // Longer than any test: the background probe never runs here.
      probeIntervalMs: 600_000,
      connectTimeoutMs: 1_000,
    });
  });

  afterEach(() => health.close());

  const check = () => readiness.report().checks.guestApi;
  const logged = (level: number) => lines.filter((l) => l.level === level);

  it('is ready until a handshake fails, and logs nothing meanwhile', () => {
    health.succeeded();

    expect(check()).toEqual({ ok: true, detail: 'No guest WebSocket has been refused.' });
    expect(lines).toEqual([]);
  });

  it('turns unready on a refused handshake, naming GENESYS_ORIGIN, and logs the refusal once however often it repeats', () => {
    const refused = new GuestApiError('handshake_refused', 'refused', { genesysCode: 403 });
    for (let i = 0; i < 5; i++) health.failed(refused);

    expect(check()).toMatchObject({ ok: false, detail: expect.stringContaining('GENESYS_ORIGIN (https://bff.example.org)') });
    expect(logged(50)).toEqual([expect.objectContaining({ msg: check()!.detail, genesysCode: 403 })]);
  });

  it('is ready again after a successful handshake, and says so once', () => {
    health.failed(new GuestApiError('unavailable', 'connect ECONNREFUSED'));
    expect(check()).toMatchObject({ ok: false, detail: expect.stringContaining('could not be opened: connect ECONNREFUSED') });

    health.succeeded();
    health.succeeded();

    expect(check()).toEqual({ ok: true, detail: 'Genesys accepts the guest WebSocket again.' });
    expect(logged(30).map((l) => l.msg)).toEqual(['Genesys accepts the guest WebSocket again.']);
    expect(logged(50)).toHaveLength(1);
  });
});
