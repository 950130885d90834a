import { countGenesysError, countGuestSessions, metricsText } from '../../src/observability/metrics';
import { parseScrape, scrape, type Scrape } from '../support/metrics';
import { dataOf, openStream, type SseStream } from '../support/sse';
import { bearer, guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The Prometheus metrics (src/observability/metrics.ts, docs/operations.md): read the way
 * Prometheus reads them, from METRICS_PORT, while a chat runs through the service against the
 * simulator; and the counting rules as a scrape shows them: `genesys_errors_total`'s `code` comes
 * from a closed set, a 429 or 4029 is also rate limiting, and the live-chats gauge is read from its
 * sources at each scrape.
 */

describe('through the service, as Prometheus reads them', () => {
  let stack: Stack;
  let metricsUrl: string;

  // A real (tiny) PNG, and an executable posing as one.
  const PNG = Buffer.from(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
      '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
    'hex',
  );
  const EXE = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.alloc(200)]);

  beforeAll(async () => {
    stack = await startStack({ env: { METRICS_PORT: '0' }, sim: { agent: { enabled: false } } });
    metricsUrl = stack.service.metricsUrl!;
  });
  afterAll(() => stack.close());
  afterEach(() => stack.sim.faults.clear());

  /** How much each sample moved while `act` ran. */
  async function moved(
    act: () => Promise<void>,
  ): Promise<{ before: Scrape; after: Scrape; by(name: string, labels?: Record<string, string>): number }> {
    const before = await scrape(metricsUrl);
    await act();
    const after = await scrape(metricsUrl);
    return { before, after, by: (name, labels) => after.value(name, labels) - before.value(name, labels) };
  }

  test('metrics are served on METRICS_PORT only: /metrics on PORT is 404, and the metrics port serves nothing else', async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(metricsUrl).port).not.toBe(new URL(stack.service.url).port);
    const onPublic = await stack.http.get('/metrics');
    expect(onPublic.status).toBe(404);
    expect(onPublic.text).not.toContain('genesys_bff_');
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect((await fetch(new URL('/', metricsUrl))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(404);
  });

  test('every metric of the contract and the default process and Node metrics are exported', async () => {
    const families = (await scrape(metricsUrl)).families();
    const expected: Record<string, string> = {
      genesys_bff_http_requests_total: 'counter',
      genesys_bff_http_request_duration_seconds: 'histogram',
      genesys_bff_sessions_started_total: 'counter',
      genesys_bff_messages_total: 'counter',
      genesys_bff_genesys_sockets_open: 'gauge',
      genesys_bff_genesys_socket_opens_total: 'counter',
      genesys_bff_genesys_errors_total: 'counter',
      genesys_bff_genesys_rate_limited_total: 'counter',
      genesys_bff_streams_open: 'gauge',
      genesys_bff_sends_in_doubt_total: 'counter',
      genesys_bff_idempotent_replays_total: 'counter',
      genesys_bff_shared_store_up: 'gauge',
      genesys_bff_oauth_token_refreshes_total: 'counter',
      genesys_bff_attachments_total: 'counter',
      genesys_bff_limits_refused_total: 'counter',
      genesys_bff_guest_sessions: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) expect([name, families.get(name)]).toEqual([name, type]);
  });

  test('a chat moves each metric as it happens: session, stream, agent reply, send, replay, 429, error in doubt, uploads', async () => {
    // Without Redis the shared store is this instance's memory: always up. The OAuth token was fetched at start.
    const start = await scrape(metricsUrl);
    expect(start.value('genesys_bff_shared_store_up')).toBe(1);
    expect(start.value('genesys_bff_oauth_token_refreshes_total', { result: 'success' })).toBeGreaterThanOrEqual(1);

    // A new session: one conversation started, anonymous, over one new socket to Genesys.
    let token = '';
    let gt = '';
    const created = await moved(async () => {
      const before = stack.sim.received.length;
      token = (await stack.newSession()).token;
      gt = guestTokenOf(stack.sim, before);
    });
    expect(created.by('genesys_bff_sessions_started_total', { authenticated: 'false' })).toBe(1);
    expect(created.by('genesys_bff_sessions_started_total', { authenticated: 'true' })).toBe(0);
    expect(created.by('genesys_bff_genesys_socket_opens_total')).toBe(1);
    expect(created.by('genesys_bff_genesys_sockets_open')).toBe(1);
    expect(created.by('genesys_bff_guest_sessions')).toBe(1);
    expect(
      created.by('genesys_bff_http_requests_total', { method: 'POST', route: '/guest-session', status: '201' }),
    ).toBe(1);
    expect(
      created.by('genesys_bff_http_request_duration_seconds_count', { method: 'POST', route: '/guest-session' }),
    ).toBe(1);

    // A live stream opens; an agent's reply reaches the guest on it.
    let stream: SseStream | undefined;
    const replied = await moved(async () => {
      stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
      stack.sim.agent.say(gt, 'hello from the agent');
      await stream.next((e) => e.event === 'message' && dataOf(e).text === 'hello from the agent');
    });
    expect(replied.by('genesys_bff_streams_open')).toBe(1);
    expect(replied.by('genesys_bff_messages_total', { direction: 'outbound' })).toBe(1);
    expect(replied.by('genesys_bff_messages_total', { direction: 'inbound' })).toBe(0);

    // The guest sends under an Idempotency-Key, then retries it: one message, one replay.
    const sent = await moved(async () => {
      for (let i = 0; i < 2; i++) {
        const res = await stack.http
          .post('/messages')
          .set(bearer(token))
          .set('Idempotency-Key', 'metrics-1')
          .send({ text: 'hello from the guest' });
        expect(res.status).toBe(201);
      }
    });
    expect(sent.by('genesys_bff_messages_total', { direction: 'inbound' })).toBe(1);
    expect(sent.by('genesys_bff_idempotent_replays_total')).toBe(1);
    expect(sent.by('genesys_bff_http_requests_total', { method: 'POST', route: '/messages', status: '201' })).toBe(2);
    expect(sent.by('genesys_bff_genesys_socket_opens_total')).toBe(0);

    // Genesys rate-limits the next message (TooManyRequestsErrorMessage 429/4029).
    const limited = await moved(async () => {
      stack.sim.faults.rateLimit({ retryAfter: 1, sessionToken: gt });
      const res = await stack.http.post('/messages').set(bearer(token)).send({ text: 'too fast' });
      expect([201, 429]).toContain(res.status);
    });
    expect(limited.by('genesys_bff_genesys_rate_limited_total')).toBe(1);
    expect(limited.by('genesys_bff_genesys_errors_total', { code: '429' })).toBe(1);

    // The socket drops under a send and history answers 500: delivery cannot be checked, the send is in doubt.
    const doubted = await moved(async () => {
      stack.sim.faults.failRest('history', { status: 500 });
      stack.sim.faults.dropOnNext('onMessage', { sessionToken: gt, when: 'after-processing' });
      const res = await stack.http
        .post('/messages')
        .set(bearer(token))
        .set('Idempotency-Key', 'metrics-2')
        .send({ text: 'lost in the drop' });
      expect([res.status, res.body.detail]).toEqual([503, expect.stringMatching(/may have been delivered/)]);
    });
    expect(doubted.by('genesys_bff_sends_in_doubt_total')).toBe(1);
    expect(doubted.by('genesys_bff_genesys_errors_total', { code: '500' })).toBeGreaterThanOrEqual(1);
    expect(doubted.by('genesys_bff_genesys_socket_opens_total')).toBe(1);
    expect(doubted.by('genesys_bff_http_requests_total', { method: 'POST', route: '/messages', status: '503' })).toBe(
      1,
    );
    stack.sim.faults.clear();

    // One file uploaded, one refused for its content.
    let attachmentId = '';
    const uploaded = await moved(async () => {
      const ok = await stack.http
        .post('/attachments')
        .set(bearer(token))
        .attach('file', PNG, { filename: 'photo.png', contentType: 'image/png' });
      expect(ok.status).toBe(201);
      attachmentId = ok.body.attachment.id as string;
      const refused = await stack.http
        .post('/attachments')
        .set(bearer(token))
        .attach('file', EXE, { filename: 'photo.png', contentType: 'image/png' });
      expect(refused.status).toBe(415);
      const link = await stack.http.get(`/attachments/${attachmentId}/content`).set(bearer(token));
      expect(link.status).toBe(302);
    });
    expect(uploaded.by('genesys_bff_attachments_total', { result: 'uploaded' })).toBe(1);
    expect(uploaded.by('genesys_bff_attachments_total', { result: 'refused' })).toBe(1);
    expect(uploaded.by('genesys_bff_attachments_total', { result: 'failed' })).toBe(0);
    // The route template, never the id.
    expect(
      uploaded.by('genesys_bff_http_requests_total', {
        method: 'GET',
        route: '/attachments/:id/content',
        status: '302',
      }),
    ).toBe(1);

    // The service's own limit: a fourth stream of one session (STREAMS_PER_SESSION=3).
    const extra: SseStream[] = [];
    const capped = await moved(async () => {
      for (let i = 0; i < 2; i++) extra.push(await openStream(`${stack.service.url}/messages/stream`, bearer(token)));
      const refused = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
      expect(refused.status).toBe(429);
    });
    expect(capped.by('genesys_bff_limits_refused_total', { limit: 'streams_per_session' })).toBe(1);
    expect(
      capped.by('genesys_bff_http_requests_total', { method: 'GET', route: '/messages/stream', status: '429' }),
    ).toBe(1);
    expect(capped.by('genesys_bff_streams_open')).toBe(2);

    // Streams that end leave the gauge; an unknown path is counted as unmatched, not by its path.
    const closed = await moved(async () => {
      for (const s of [stream!, ...extra]) s.close();
      await waitFor(
        async () =>
          (await scrape(metricsUrl)).value('genesys_bff_streams_open') === start.value('genesys_bff_streams_open'),
      );
      expect((await stack.http.get(`/no/such/${gt}`).set('Origin', PAGE_ORIGIN)).status).toBe(404);
    });
    expect(closed.by('genesys_bff_streams_open')).toBe(-3);
    expect(closed.by('genesys_bff_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);

    // No label anywhere holds a token, the guest token, an attachment id or a raw path.
    const text = closed.after.text;
    for (const secret of [token, gt, attachmentId, '/no/such']) expect(text).not.toContain(secret);
  });

  test('the exposition parses as Prometheus text: every sample line is well-formed', async () => {
    const text = await (await fetch(metricsUrl)).text();
    expect(() => parseScrape(text)).not.toThrow();
    expect(parseScrape(text).series().length).toBeGreaterThan(50);
  });
});

describe('the counting rules, as a scrape shows them', () => {
  async function scraped(): Promise<Scrape> {
    return parseScrape(await metricsText());
  }

  async function moved(action: () => void): Promise<(name: string, labels?: Record<string, string>) => number> {
    const before = await scraped();
    action();
    const after = await scraped();
    return (name, labels) => after.value(name, labels) - before.value(name, labels);
  }

  test('a Genesys error is counted under its code when the code is known (a Guest API code, an HTTP status, timeout, unreachable), else under `other`', async () => {
    const by = await moved(() => {
      for (const code of [4006, '4006', 503, 'timeout', 'unreachable', 'ECONNRESET', undefined, 4999, 418])
        countGenesysError(code);
    });
    const errors = (code: string) => by('genesys_bff_genesys_errors_total', { code });
    expect([errors('4006'), errors('503'), errors('timeout'), errors('unreachable'), errors('other')]).toEqual([
      2, 1, 1, 1, 4,
    ]);
    // No series for a code outside the set.
    const text = (await scraped()).text;
    for (const code of ['ECONNRESET', 'undefined', '4999', '418']) expect(text).not.toContain(`code="${code}"`);
  });

  test('a 429 (REST) or 4029 (Guest API) is also counted as Genesys rate limiting; other errors are not', async () => {
    const by = await moved(() => {
      for (const code of [429, 4029, '4029', 500, 4006, 'timeout']) countGenesysError(code);
    });
    expect(by('genesys_bff_genesys_rate_limited_total')).toBe(3);
    expect(by('genesys_bff_genesys_errors_total', { code: '4029' })).toBe(2);
  });

  test('live chats: the gauge sums the session hubs at each scrape, and a hub removed no longer counts', async () => {
    const chats = async () => (await scraped()).value('genesys_bff_guest_sessions');
    let held = 3;
    const removeFirst = countGuestSessions(() => held);
    const removeSecond = countGuestSessions(() => 2);
    expect(await chats()).toBe(5);
    held = 4;
    expect(await chats()).toBe(6);
    removeFirst();
    expect(await chats()).toBe(2);
    removeSecond();
    expect(await chats()).toBe(0);
  });
});
