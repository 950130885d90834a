import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { demoPng } from '../../simulator/richReplies';
import { manualClock } from '../support/platform';
import { isClass, isMessage, RawGuest } from '../support/rawGuest';

/**
 * Where Genesys is harder than a kind simulator, the strict profile is too (simulator/profile.ts): the per-action
 * limits, receipts, links that state no expiry and redirect, agent file ids that are no UUIDs, an expiry that only
 * messages move, and the refusals a
 * test can ask for (401, 403 "authenticate again", 4008, 5000).
 */
let sim: Simulator;
const clock = manualClock(Date.now());
const PNG = demoPng(4, 4);

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false }, clock: clock.now, messagesPerSecond: 50 });
});
afterAll(() => sim.stop());
afterEach(() => {
  sim.reset();
  sim.setOptions({ profile: 'strict' });
});

async function configured(token = randomUUID()): Promise<{ guest: RawGuest; token: string }> {
  const guest = await RawGuest.connect(sim);
  guest.send({ action: 'configureSession', token, deploymentId: sim.deploymentId, tracingId: 'c' });
  await guest.next(isClass('SessionResponse'), 'SessionResponse');
  return { guest, token };
}

describe('per-action limits', () => {
  test('echo: 2 a minute per connection, the third refused with an untraced 429; a new connection starts afresh', async () => {
    const { guest, token } = await configured();
    const echo = async (g: RawGuest) => {
      g.send({ action: 'echo', token, tracingId: randomUUID(), message: { text: 'ping', type: 'Text' } });
      return g.next((f) => f.class === 'StructuredMessage' || f.class === 'TooManyRequestsErrorMessage', 'the echo');
    };
    expect((await echo(guest)).class).toBe('StructuredMessage');
    expect((await echo(guest)).class).toBe('StructuredMessage');
    const third = await echo(guest);
    expect(third).toMatchObject({ class: 'TooManyRequestsErrorMessage', code: 429 });
    expect(third.tracingId).toBeUndefined();
    const other = await RawGuest.connect(sim);
    expect((await echo(other)).class).toBe('StructuredMessage');
    await Promise.all([guest.close(), other.close()]);
  });

  test('configureSession: 60 a minute per session, across connections', async () => {
    const token = randomUUID();
    const guests = [await RawGuest.connect(sim), await RawGuest.connect(sim)];
    const replies: string[] = [];
    for (let i = 0; i < 61; i++) {
      const g = guests[i % 2]!;
      g.send({ action: 'configureSession', token, deploymentId: sim.deploymentId });
      replies.push((await g.next((f) => /SessionResponse|TooManyRequests/.test(f.class), 'the reply')).class);
    }
    expect(replies.filter((c) => c === 'SessionResponse')).toHaveLength(60);
    expect(replies[60]).toBe('TooManyRequestsErrorMessage');
    await Promise.all(guests.map((g) => g.close()));
  });
});

test('a Receipt follows the echo of each guest message, live and in history', async () => {
  const { guest, token } = await configured();
  guest.send({ action: 'onMessage', token, tracingId: 't', message: { type: 'Text', text: 'hello' } });
  const echo = await guest.next(isMessage('Inbound', 'Text'), 'the echo');
  const receipt = await guest.next((f) => f.body?.type === 'Receipt', 'the receipt');
  expect(receipt.body).toMatchObject({ id: echo.body.id, status: 'Delivered', direction: 'Outbound' });
  guest.send({ action: 'getJwt', token, tracingId: 'j' });
  const { jwt } = (await guest.next(isClass('JwtResponse'))).body;
  const page = await fetch(`${sim.urls.apiUrl}/api/v2/webmessaging/messages?pageNumber=1&pageSize=25`, {
    headers: { Authorization: `bearer ${jwt}` },
  });
  const { entities } = (await page.json()) as { entities: { type: string; id: string }[] };
  expect(entities).toContainEqual(expect.objectContaining({ type: 'Receipt', id: echo.body.id }));
  await guest.close();
});

test('a configure does not move the expiry; a message does', async () => {
  const { guest, token } = await configured();
  guest.send({ action: 'configureSession', token, deploymentId: sim.deploymentId });
  const first = (await guest.next(isClass('SessionResponse'))).body;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  guest.send({ action: 'configureSession', token, deploymentId: sim.deploymentId });
  const second = (await guest.next(isClass('SessionResponse'))).body;
  expect(second.expirationDate).toBe(first.expirationDate);
  guest.send({ action: 'onMessage', token, message: { type: 'Text', text: 'still here' } });
  await guest.next(isMessage('Inbound', 'Text'));
  guest.send({ action: 'configureSession', token, deploymentId: sim.deploymentId });
  const third = (await guest.next(isClass('SessionResponse'))).body;
  expect(third.expirationDate).toBeGreaterThan(first.expirationDate);
  await guest.close();
});

test('a download link states no expiry and redirects to storage while valid; AccessDenied after', async () => {
  const { guest, token } = await configured();
  const attachmentId = randomUUID();
  guest.send({
    action: 'onAttachment',
    token,
    attachmentId,
    fileName: 'a.png',
    fileType: 'image/png',
    fileSize: PNG.length,
  });
  const presigned = await guest.next(isClass('PresignedUrlResponse'), 'the presigned URL');
  const { url, headers } = presigned.body;
  const bytes = new Uint8Array(PNG);
  await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/png', ...headers }, body: bytes });
  const { downloadUrl } = (await guest.next(isClass('UploadSuccessEvent'), 'the verdict')).body;
  expect(downloadUrl).not.toMatch(/X-Amz-Expires|Expires=/i);
  const hop = await fetch(downloadUrl, { redirect: 'manual' });
  expect(hop.status).toBe(302);
  expect(Buffer.from(await (await fetch(hop.headers.get('location')!)).arrayBuffer())).toEqual(PNG);
  expect(Buffer.from(await (await fetch(downloadUrl)).arrayBuffer())).toEqual(PNG);
  clock.advance(601_000);
  expect((await fetch(downloadUrl, { redirect: 'manual' })).status).toBe(403);
  await guest.close();
});

test("the agent's files have ids that are no UUIDs; the kind profile's are", async () => {
  const agentFileId = async () => {
    const { guest, token } = await configured();
    guest.send({ action: 'onMessage', token, tracingId: 'i', message: { type: 'Text', text: 'send image' } });
    const message = await guest.next(
      (f) => isMessage('Outbound', 'Text')(f) && Array.isArray(f.body?.content),
      "the agent's file",
    );
    await guest.close();
    return (message.body.content as { attachment: { id: string } }[])[0]!.attachment.id;
  };
  sim.setOptions({ agent: { enabled: true, typingDelayMs: 1, replyDelayMs: 1 } });
  try {
    expect(await agentFileId()).toMatch(/^att_[A-Za-z0-9_-]{22}$/);
    sim.setOptions({ profile: 'default' });
    expect(await agentFileId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  } finally {
    sim.setOptions({ agent: { enabled: false } });
  }
});

describe('refusals Genesys sends that no script does (faults.refuseNext), untraced under the strict profile', () => {
  test.each([
    ['onMessage', 401, 'User is unauthorized'],
    ['onMessage', 403, 'Try authenticate again'],
    ['getAttachment', 4008, 'Attachment has expired'],
    ['onAttachment', 5000, 'Request failed.'],
    ['deleteAttachment', 5000, 'Request failed.'],
  ])('%s answered %i "%s"', async (action, code, body) => {
    const { guest, token } = await configured();
    sim.faults.refuseNext(action, { code, body, sessionToken: token });
    guest.send({ action, token, tracingId: 'x', attachmentId: randomUUID(), message: { type: 'Text', text: 'hi' } });
    const refusal = await guest.next(isClass('string'), 'the refusal');
    expect(refusal).toMatchObject({ code, body });
    expect(refusal.tracingId).toBeUndefined();
    await guest.close();
  });
});
