import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { Redis } from 'ioredis';
import { registry } from '../../src/observability/metrics';
import { flushTracing, startTracing } from '../../src/observability/tracing';
import { startRedis, type RedisServer } from '../support/redis';
import { dataOf, openStream } from '../support/sse';
import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, WEBHOOK_SECRET, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Masking before Genesys (docs/api.md#masking) against the strict simulator, with Redis and spans: a card number
 * and an IBAN in the guest's text, attribute values and a file's name reach Genesys masked, and the numbers
 * themselves, however spaced, appear nowhere the service writes: its logs, spans, history, transcript, webhooks
 * (as delivered, and as the outbox holds them in Redis while a receiver keeps them waiting) or Redis.
 *
 * @needs redis-server
 */

const CARD = '4111 1111 1111 1111';
const IBAN = 'DE89 3704 0044 0532 0130 00';
const TEXT = `My card is ${CARD} and my IBAN ${IBAN}`;
const MASKED = 'My card is •••• •••• •••• 1111 and my IBAN DE•• •••• •••• •••• ••30 00';

/** The number written any way: its characters with anything but letters and digits (up to 3) between them. */
const anySpacing = (value: string) =>
  new RegExp(
    [...value.replace(/[^A-Za-z0-9]/g, '')].map((c) => c.replace(/[^A-Za-z0-9]/g, '')).join('[^A-Za-z0-9]{0,3}'),
    'i',
  );
const SECRETS = [anySpacing(CARD), anySpacing(IBAN)];
const holdsSecret = (text: string) => SECRETS.some((s) => s.test(text));

// A real (tiny) PNG: signature, IHDR, IDAT, IEND.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;
let redis: RedisServer;
let stack: Stack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'masking-under-test', exporter });
  redis = await startRedis();
  receiver = await startWebhookReceiver();
  stack = await startStack({
    env: {
      REDIS_URL: redis.url,
      MASKING: 'card,iban',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET,
      // A delivery held unanswered is cut off soon and tried again soon, so a receiver that answers again is reached
      // within the test.
      WEBHOOK_TIMEOUT_MS: '300',
      WEBHOOK_RETRY_FIRST_MS: '40',
    },
    sim: { agent: { enabled: false } },
  });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await redis?.stop();
  await stopTracing?.();
});

/** Every text frame the simulator received for guest `gt`. */
const textsSent = (gt: string) =>
  stack.sim.received
    .filter((f) => f.frame?.action === 'onMessage' && f.frame.token === gt)
    .map((f) => (f.frame.message as { text?: string }).text)
    .filter((t): t is string => t !== undefined);

/** Every key and value in Redis, as text. */
async function everythingInRedis(): Promise<string> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const parts: string[] = [];
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'COUNT', '500');
      cursor = next;
      for (const key of keys) {
        parts.push(key);
        const type = await client.type(key);
        if (type === 'string') parts.push((await client.get(key)) ?? '');
        else if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)));
        else if (type === 'list') parts.push(JSON.stringify(await client.lrange(key, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await client.smembers(key)));
        else if (type === 'zset') parts.push(JSON.stringify(await client.zrange(key, '0', '-1')));
        else if (type === 'stream') parts.push(JSON.stringify(await client.xrange(key, '-', '+')));
        else parts.push(`<${type}>`);
      }
    } while (cursor !== '0' && ++rounds < 1000);
    return parts.join('\n');
  } finally {
    client.disconnect();
  }
}

/** The webhook deliveries of `type` the receiver has seen (held, refused or accepted). */
const deliveriesOf = (type: string) => receiver.received.filter((d) => d.body.type === type);

test('a card and an IBAN reach Genesys masked, the stream says so once, and the numbers are nowhere', async () => {
  // The receiver holds every delivery unanswered: the events wait in the outbox in Redis while it is scanned.
  receiver.answer(0);
  const { token, gt } = await stack.newGuest();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');

  const sent = await stack.http.post('/messages').set(bearer(token)).set('Idempotency-Key', 'masked-1').send({
    text: TEXT,
  });
  expect(sent.status).toBe(201);
  expect(sent.body.message.text).toBe(MASKED);
  expect(textsSent(gt)).toEqual([MASKED]);

  const notice = await stream.next((e) => e.event === 'notice');
  expect(dataOf(notice)).toEqual({ code: 'masked', detectors: ['card', 'iban'], messageId: sent.body.message.id });
  await stream.next((e) => e.event === 'message' && dataOf(e).id === sent.body.message.id);

  const history = await stack.http.get('/messages').set(bearer(token));
  expect(history.body.messages.map((m: { text?: string }) => m.text)).toEqual([MASKED]);
  const transcript = await stack.http.get('/messages/transcript').set(bearer(token));
  expect(transcript.status).toBe(200);
  expect(transcript.text).toContain('•••• •••• •••• 1111');
  const html = await stack.http.get('/messages/transcript?format=html').set(bearer(token));

  // A retry under the same key answers the same message, masked; nothing more is sent.
  const again = await stack.http.post('/messages').set(bearer(token)).set('Idempotency-Key', 'masked-1').send({
    text: TEXT,
  });
  expect([again.status, again.body.message.id, again.body.message.text]).toEqual([201, sent.body.message.id, MASKED]);
  expect(textsSent(gt)).toEqual([MASKED]);
  stream.close();

  await flushTracing();
  const spans = JSON.stringify(
    exporter
      .getFinishedSpans()
      .map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
  );
  const answers = [sent.text, again.text, JSON.stringify(history.body), transcript.text, html.text];
  const logs = stack.log.text();
  expect(logs).toContain('guest input masked');
  // The message.sent event was tried (and is held), so it is in the outbox: the scan below reads it there.
  await waitFor(() =>
    deliveriesOf('message.sent').some((d) => (d.body.data.message as { id: string }).id === sent.body.message.id),
  );
  const held = deliveriesOf('message.sent').find(
    (d) => (d.body.data.message as { id: string }).id === sent.body.message.id,
  )!;
  expect((held.body.data.message as { text?: string }).text).toBe(MASKED);
  const inRedis = await everythingInRedis();
  expect(inRedis).toContain(held.id);
  // One line per find, with the request's trace and its deployment, naming the detectors only.
  expect(stack.log.lines().filter((l) => l.masking)).toContainEqual(
    expect.objectContaining({
      masking: { field: 'text', detectors: ['card', 'iban'], mode: 'mask' },
      deployment: 'default',
      requestId: expect.any(String),
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    }),
  );
  const counted = (await registry.getSingleMetric('genesys_bff_masked_total')!.get()).values.map((v) => v.labels);
  expect(counted).toEqual(
    expect.arrayContaining([
      { deployment: 'default', detector: 'card', mode: 'mask' },
      { deployment: 'default', detector: 'iban', mode: 'mask' },
    ]),
  );
  expect({
    logs: holdsSecret(logs),
    spans: holdsSecret(spans),
    answers: answers.map(holdsSecret),
    redis: holdsSecret(inRedis),
    stream: holdsSecret(JSON.stringify(stream.events)),
    webhooks: holdsSecret(JSON.stringify(receiver.received.map((d) => d.raw))),
  }).toEqual({
    logs: false,
    spans: false,
    answers: answers.map(() => false),
    redis: false,
    stream: false,
    webhooks: false,
  });

  // Answered again, the receiver gets the event as the outbox held it: once, masked, and still nothing else.
  receiver.answer(204);
  await waitFor(() => receiver.accepted().some((d) => d.id === held.id));
  expect(receiver.accepted().filter((d) => d.id === held.id)).toHaveLength(1);
  expect(receiver.accepted().find((d) => d.id === held.id)!.body.data.message).toMatchObject({ text: MASKED });
  expect(receiver.unverified).toEqual([]);
  expect(holdsSecret(JSON.stringify(receiver.received.map((d) => d.raw)))).toBe(false);
});

test('attribute values and a file name are masked before Genesys sees them', async () => {
  const { token, gt } = await stack.newGuest({ attributes: { account: IBAN } });
  const patched = await stack.http
    .patch('/guest-attributes')
    .set(bearer(token))
    .send({ note: `card ${CARD}`, plan: 'gold' });
  expect(patched.status).toBe(200);
  expect(patched.body.attributes).toMatchObject({
    account: 'DE•• •••• •••• •••• ••30 00',
    note: 'card •••• •••• •••• 1111',
    plan: 'gold',
  });

  const upload = await stack.http
    .post('/attachments')
    .set(bearer(patched.body.sessionToken))
    .attach('file', PNG, { filename: `card ${CARD}.png`, contentType: 'image/png' });
  expect([upload.status, upload.body.attachment?.fileName]).toEqual([201, 'card •••• •••• •••• 1111.png']);
  const presign = stack.sim.received.filter((f) => f.frame?.action === 'onAttachment').at(-1)!.frame;
  expect(presign.fileName).toBe('card •••• •••• •••• 1111.png');

  const sent = await stack.http
    .post('/messages')
    .set(bearer(patched.body.sessionToken))
    .send({ text: 'see the file', attachmentIds: [upload.body.attachment.id] });
  expect(sent.status).toBe(201);
  expect(stack.sim.customAttributes(gt)).toMatchObject({
    account: 'DE•• •••• •••• •••• ••30 00',
    note: 'card •••• •••• •••• 1111',
    plan: 'gold',
  });
  expect(holdsSecret(JSON.stringify(stack.sim.received.filter((f) => f.frame?.token === gt)))).toBe(false);
  expect(holdsSecret(stack.log.text())).toBe(false);
  // The site's backend hears of the upload by its masked name, and of nothing holding the numbers.
  await waitFor(() =>
    deliveriesOf('attachment.uploaded').some(
      (d) => (d.body.data.attachment as { id: string }).id === upload.body.attachment.id,
    ),
  );
  expect(
    deliveriesOf('attachment.uploaded').find(
      (d) => (d.body.data.attachment as { id: string }).id === upload.body.attachment.id,
    )!.body.data.attachment,
  ).toMatchObject({ fileName: 'card •••• •••• •••• 1111.png' });
  expect(holdsSecret(JSON.stringify(receiver.received.map((d) => d.raw)))).toBe(false);
  expect(holdsSecret(await everythingInRedis())).toBe(false);
});

test("a card written after a file name's last dot reaches Genesys masked, the extension as the rest", async () => {
  const { token } = await stack.newGuest();
  const upload = await stack.http
    .post('/attachments')
    .set(bearer(token))
    .attach('file', PNG, { filename: 'invoice.4111111111111111', contentType: 'image/png' });
  expect([upload.status, upload.body.attachment?.fileName]).toEqual([201, 'invoice.••••••••••••1111']);
  const presign = stack.sim.received.filter((f) => f.frame?.action === 'onAttachment').at(-1)!.frame;
  expect(presign.fileName).toBe('invoice.••••••••••••1111');
});

test('a number that fails its check is sent as it is', async () => {
  const { token, gt } = await stack.newGuest();
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'ref 4111 1111 1111 1112' });
  expect(sent.status).toBe(201);
  expect(textsSent(gt)).toEqual(['ref 4111 1111 1111 1112']);
});

describe('refuse mode', () => {
  let refusing: Stack;
  beforeAll(async () => {
    refusing = await startStack({
      env: { MASKING: 'card,iban', MASKING_MODE: 'refuse' },
      sim: { agent: { enabled: false } },
    });
  });
  afterAll(() => refusing?.close());

  test('answers 422 sensitive_data naming the detector, never the value, and sends Genesys nothing', async () => {
    const before = refusing.sim.received.length;
    const { token } = await refusing.newSession();
    const gt = guestTokenOf(refusing.sim, before);
    const res = await refusing.http
      .post('/messages')
      .set(bearer(token))
      .send({ text: `My card is ${CARD}` });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'sensitive_data', status: 422, detectors: ['card'] });
    expect(holdsSecret(res.text)).toBe(false);
    const attributes = await refusing.http.put('/guest-attributes').set(bearer(token)).send({ iban: IBAN });
    expect([attributes.status, attributes.body.code, attributes.body.detectors]).toEqual([
      422,
      'sensitive_data',
      ['iban'],
    ]);

    const upload = await refusing.http
      .post('/attachments')
      .set(bearer(token))
      .attach('file', PNG, { filename: `iban ${IBAN}.png`, contentType: 'image/png' });
    expect([upload.status, upload.body.code, upload.body.detectors]).toEqual([422, 'sensitive_data', ['iban']]);
    expect(refusing.sim.received.filter((f) => f.frame?.action === 'onAttachment')).toEqual([]);

    // What holds nothing is sent: the socket works, and it is the only text Genesys has.
    const fine = await refusing.http.post('/messages').set(bearer(token)).send({ text: 'no numbers here' });
    expect(fine.status).toBe(201);
    await waitFor(() => refusing.sim.received.some((f) => f.frame?.token === gt && f.frame.action === 'onMessage'));
    const texts = refusing.sim.received
      .filter((f) => f.frame?.action === 'onMessage' && f.frame.token === gt)
      .map((f) => (f.frame.message as { text?: string }).text);
    expect(texts).toEqual(['no numbers here']);
    expect(holdsSecret(refusing.log.text())).toBe(false);
  });
});
