import { steerableClock } from '../support/clock';
import { dataOf, openStream } from '../support/sse';
import { bearer, guestTokenOf, simProfile, startStack, type Stack } from '../support/stack';

/**
 * Attachment links on this service (README.md#attachments): Genesys's own URL while it is valid, a new one
 * (getAttachment) only after it expired, the last one when Genesys will not sign another, and never more
 * Genesys requests than the connection's budget.
 */
let stack: Stack;
// One clock for the service and Genesys: moved past a URL's lifetime, both agree it has expired, however slow the run.
const clock = steerableClock();

// A real (tiny) PNG: signature, IHDR, IDAT, IEND.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

beforeAll(async () => {
  // These tests read a link's lifetime from its signature; links that state none have their own test below.
  stack = await startStack({ sim: { agent: { enabled: false }, downloadLinks: 'signed' }, now: clock.now });
});

afterAll(async () => {
  await stack.close();
});

afterEach(() => {
  stack.sim.setOptions({ agent: { enabled: false }, downloadUrlTtlSeconds: 600, agentAttachmentIds: 'auto' });
});

const frames = (s: Stack, action: string) => s.sim.received.filter((f) => f.frame?.action === action);

async function uploaded(s: Stack, token: string): Promise<{ id: string; url: string }> {
  const res = await s.http
    .post('/attachments')
    .set(bearer(token))
    .attach('file', PNG, { filename: 'photo.png', contentType: 'image/png' });
  expect([res.status, res.body.detail]).toEqual([201, undefined]);
  return res.body.attachment as { id: string; url: string };
}

test("a guest viewing the same attachment 50 times within its URL's lifetime costs at most one getAttachment", async () => {
  const { token } = await stack.newSession();
  const attachment = await uploaded(stack, token);
  const before = frames(stack, 'getAttachment').length;
  const targets = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const view = await fetch(attachment.url, { redirect: 'manual' });
    expect(view.status).toBe(302);
    targets.add(view.headers.get('location')!);
  }
  expect(frames(stack, 'getAttachment').length - before).toBeLessThanOrEqual(1);
  // Genesys's own URL, the same for every look, and it works.
  expect(targets.size).toBe(1);
  const file = await fetch([...targets][0]!);
  expect(file.status).toBe(200);
  expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG);
});

test("once Genesys's URL has expired, the link asks Genesys for a new one, once, and serves that while it lasts", async () => {
  stack.sim.setOptions({ downloadUrlTtlSeconds: 60 });
  const { token } = await stack.newSession();
  const attachment = await uploaded(stack, token);
  const first = (await fetch(attachment.url, { redirect: 'manual' })).headers.get('location')!;
  expect((await fetch(first)).status).toBe(200);
  clock.advance(61_000);
  expect((await fetch(first)).status).toBe(403);
  const before = frames(stack, 'getAttachment').length;
  const again = await fetch(attachment.url, { redirect: 'manual' });
  expect(again.status).toBe(302);
  const second = again.headers.get('location')!;
  expect(second).not.toBe(first);
  for (let i = 0; i < 5; i++)
    expect((await fetch(attachment.url, { redirect: 'manual' })).headers.get('location')).toBe(second);
  expect(
    frames(stack, 'getAttachment')
      .slice(before)
      .map((f) => f.frame.attachmentId),
  ).toEqual([attachment.id]);
  const file = await fetch(second);
  expect(file.status).toBe(200);
  expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG);
});

test("an agent's image: Genesys's URL while it lasts, then a new one, or (strict: Genesys will not sign one for an agent's file) the original", async () => {
  stack.sim.setOptions({ agent: { enabled: true }, downloadUrlTtlSeconds: 60 });
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'send image' })).status).toBe(201);
  const live = await stream.next((e) => e.event === 'message' && Array.isArray(dataOf(e).attachments));
  stream.close();
  const [shown] = dataOf(live).attachments as { id: string; url: string }[];
  const sent = stack.sim
    .conversationMessages(gt)
    .flatMap((m) => (m as { content?: { attachment?: { id: string; url: string } }[] }).content ?? []);
  const genesysUrl = sent.find((c) => c.attachment?.id === shown!.id)!.attachment!.url;
  expect(shown!.url).toContain(`/attachments/${shown!.id}/content?`);
  const refreshes = frames(stack, 'getAttachment').length;
  for (let i = 0; i < 10; i++)
    expect((await fetch(shown!.url, { redirect: 'manual' })).headers.get('location')).toBe(genesysUrl);
  expect(frames(stack, 'getAttachment').length).toBe(refreshes);

  clock.advance(61_000);
  const later = await fetch(shown!.url, { redirect: 'manual' });
  expect(later.status).toBe(302);
  expect(frames(stack, 'getAttachment').length).toBe(refreshes + 1);
  if (simProfile() === 'strict') {
    // Genesys refused to sign a new one: the original URL, never a 502.
    expect(later.headers.get('location')).toBe(genesysUrl);
  } else {
    const file = await fetch(later.headers.get('location')!);
    expect([file.status, file.headers.get('content-type')]).toEqual([200, 'image/png']);
  }
});

test("an agent's file whose id Genesys issued as no UUID: shown live and in history, and its link opens", async () => {
  stack.sim.setOptions({ agent: { enabled: true }, agentAttachmentIds: 'opaque' });
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'send image' })).status).toBe(201);
  const live = await stream.next((e) => e.event === 'message' && Array.isArray(dataOf(e).attachments));
  stream.close();
  const [shown] = dataOf(live).attachments as { id: string; url: string }[];
  expect(shown!.id).toMatch(/^att_[A-Za-z0-9_-]{22}$/);
  const sent = stack.sim
    .conversationMessages(gt)
    .flatMap((m) => (m as { content?: { attachment?: { id: string; url: string } }[] }).content ?? []);
  const genesysUrl = sent.find((c) => c.attachment?.id === shown!.id)!.attachment!.url;
  const opened = await fetch(shown!.url, { redirect: 'manual' });
  expect([opened.status, opened.headers.get('location')]).toEqual([302, genesysUrl]);
  const file = await fetch(genesysUrl);
  expect([file.status, file.headers.get('content-type')]).toEqual([200, 'image/png']);
  const history = await stack.http.get('/messages').set(bearer(token));
  const inHistory = (history.body.messages as { attachments?: { id: string; url: string }[] }[]).flatMap(
    (m) => m.attachments ?? [],
  );
  const again = inHistory.find((a) => a.id === shown!.id)!;
  expect((await fetch(again.url, { redirect: 'manual' })).headers.get('location')).toBe(genesysUrl);
});

test("sends beside a burst of views never wait for a timeout against the strict profile's per-connection budget", async () => {
  // Genesys's budget made small, and every view needing a new URL (each Genesys signs is already expired).
  const budget = await startStack({
    sim: {
      profile: 'strict',
      agent: { enabled: false },
      requestsPerConnectionPerMinute: 20,
      downloadUrlTtlSeconds: 0,
      downloadLinks: 'signed',
      messagesPerSecond: 1000,
    },
    env: { GENESYS_REQUESTS_PER_MINUTE: '20', GENESYS_MESSAGES_PER_SECOND: '50', GENESYS_TIMEOUT_MS: '10000' },
  });
  try {
    const { token } = await budget.newSession();
    const attachment = await uploaded(budget, token);
    const asked = frames(budget, 'getAttachment').length;
    const views = Array.from({ length: 30 }, () => fetch(attachment.url, { redirect: 'manual' }));
    const sends = ['one', 'two', 'three'].map((text) =>
      budget.http.post('/messages').set(bearer(token)).send({ text }),
    );
    const [viewed, sent] = await Promise.all([Promise.all(views), Promise.all(sends)]);
    expect(sent.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(sent.map((r) => r.body.message.text)).toEqual(['one', 'two', 'three']);
    // Each view got a URL, or a 429 with its Retry-After; none waited for a deadline (504).
    for (const v of viewed) {
      expect([302, 429]).toContain(v.status);
      if (v.status === 429) expect(Number(v.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Each URL handed out was one Genesys signed for that view: none is a fallback after a view gave up waiting.
    expect(viewed.filter((v) => v.status === 302).length).toBeGreaterThan(0);
    expect(viewed.filter((v) => v.status === 302).length).toBe(frames(budget, 'getAttachment').length - asked);
    // The service kept within the budget it was told: Genesys never had to refuse.
    expect(budget.sim.stats.requestsRefusedForBudget).toBe(0);
  } finally {
    await budget.close();
  }
});

test('when Genesys refuses for a budget the service did not know, the refusal is attributed and nothing waits for a deadline', async () => {
  const budget = await startStack({
    sim: {
      profile: 'strict',
      agent: { enabled: false },
      requestsPerConnectionPerMinute: 12,
      downloadUrlTtlSeconds: 0,
      downloadLinks: 'signed',
      messagesPerSecond: 1000,
    },
    env: { GENESYS_REQUESTS_PER_MINUTE: '60', GENESYS_MESSAGES_PER_SECOND: '50', GENESYS_TIMEOUT_MS: '10000' },
  });
  try {
    const before = budget.sim.received.length;
    const { token } = await budget.newSession();
    const gt = guestTokenOf(budget.sim, before);
    const attachment = await uploaded(budget, token);
    const views = Array.from({ length: 20 }, () => fetch(attachment.url, { redirect: 'manual' }));
    const sends = ['one', 'two'].map((text) => budget.http.post('/messages').set(bearer(token)).send({ text }));
    const [viewed, sent] = await Promise.all([Promise.all(views), Promise.all(sends)]);
    expect(budget.sim.stats.requestsRefusedForBudget).toBeGreaterThan(0);
    // A refused request is answered 429 with Retry-After (Genesys's wait is past its deadline), never 504.
    for (const r of [...viewed.map((v) => v.status), ...sent.map((s) => s.status)])
      expect([201, 302, 429]).toContain(r);
    // A refused send was not accepted by Genesys, and one written again after its wait is delivered once.
    const texts = (budget.sim.conversationMessages(gt) as { text?: string }[]).map((m) => m.text);
    for (const text of ['one', 'two']) expect(texts.filter((t) => t === text).length).toBeLessThanOrEqual(1);
    for (const [i, r] of sent.entries()) {
      if (r.status === 429) expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      else expect(r.body.message.text).toBe(['one', 'two'][i]);
    }
  } finally {
    await budget.close();
  }
});

test('a Genesys link that states no expiry and redirects to storage still shows the file, and is reused a while', async () => {
  const own = await startStack({ sim: { agent: { enabled: false }, downloadLinks: 'opaque' }, now: clock.now });
  try {
    const { token } = await own.newSession();
    const attachment = await uploaded(own, token);
    const view = await fetch(attachment.url, { redirect: 'manual' });
    expect(view.status).toBe(302);
    const genesysLink = view.headers.get('location')!;
    expect(genesysLink).not.toMatch(/Expires/i);
    // The browser follows both hops: this service's, then Genesys's to its storage.
    const file = await fetch(attachment.url);
    expect([file.status, Buffer.from(await file.arrayBuffer())]).toEqual([200, PNG]);
    const asked = frames(own, 'getAttachment').length;
    expect((await fetch(attachment.url, { redirect: 'manual' })).headers.get('location')).toBe(genesysLink);
    expect(frames(own, 'getAttachment').length).toBe(asked);
  } finally {
    await own.close();
  }
});
