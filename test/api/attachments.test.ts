import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';
import { EVENT_WAIT_MS, waitFor } from '../support/wait';

/** Files from the guest: checked here, uploaded to Genesys (onAttachment, PUT, verdict), sent, and linked for good. */
let stack: Stack;

// A real (tiny) PNG: signature, IHDR, IDAT, IEND.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
const EXE = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.alloc(200)]);

beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } } });
});

afterAll(async () => {
  await stack.close();
});

const frames = (action: string) => stack.sim.received.filter((f) => f.frame?.action === action);
const uploads = () => stack.sim.requests.filter((r) => r.target === 'upload');

async function upload(token: string, content: Buffer, filename: string, contentType: string) {
  return stack.http.post('/attachments').set(bearer(token)).attach('file', content, { filename, contentType });
}

test('an image within the limits is uploaded to Genesys, sent with a message, and shown with a link on this service', async () => {
  const { token } = await stack.newSession();
  const res = await upload(token, PNG, 'photo.png', 'image/png');
  expect([res.status, res.body.detail]).toEqual([201, undefined]);
  const { attachment } = res.body as {
    attachment: { id: string; fileName: string; mediaType: string; size: number; url: string };
  };
  expect(attachment).toMatchObject({ fileName: 'photo.png', mediaType: 'image/png', size: PNG.length });
  expect(attachment.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/attachments/${attachment.id}/content\\?`));
  const presign = frames('onAttachment').at(-1)!.frame;
  expect(presign).toMatchObject({
    attachmentId: attachment.id,
    fileName: 'photo.png',
    fileType: 'image/png',
    fileSize: PNG.length,
    errorsAsJson: true,
  });
  expect(uploads().at(-1)!.headers['content-length']).toBe(String(PNG.length));

  const sent = await stack.http
    .post('/messages')
    .set(bearer(token))
    .send({ text: 'my parcel', attachmentIds: [attachment.id] });
  expect(sent.status).toBe(201);
  expect(frames('onMessage').at(-1)!.frame.message.content).toEqual([
    { contentType: 'Attachment', attachment: { id: attachment.id } },
  ]);
  const shown = sent.body.message.attachments[0];
  expect(shown).toMatchObject({ id: attachment.id });
  // Never Genesys's own expiring URL: the service's link.
  expect(shown.url).toContain(`/attachments/${attachment.id}/content?`);

  const history = await stack.http.get('/messages').set(bearer(token));
  const inHistory = (history.body.messages as { attachments?: { id: string; url: string }[] }[]).flatMap(
    (m) => m.attachments ?? [],
  );
  expect(inHistory.find((a) => a.id === attachment.id)?.url).toContain('/content?');
});

// Links that outlive Genesys's own URLs, and what they cost in Genesys requests: test/api/attachmentLinks.test.ts.

test('a link is bound to its attachment and refused once tampered with', async () => {
  const { token } = await stack.newSession();
  const { attachment } = (await upload(token, PNG, 'photo.png', 'image/png')).body as {
    attachment: { id: string; url: string };
  };
  const other = (await upload(token, PNG, 'other.png', 'image/png')).body as { attachment: { id: string } };
  const swapped = attachment.url.replace(attachment.id, other.attachment.id);
  expect((await fetch(swapped, { redirect: 'manual' })).status).toBe(401);
  expect((await fetch(`${attachment.url}x`, { redirect: 'manual' })).status).toBe(401);
  // Another website's page cannot use it (a plain <img> sends no Origin; a fetch from elsewhere does).
  expect(
    (await fetch(attachment.url, { redirect: 'manual', headers: { Origin: 'https://elsewhere.example' } })).status,
  ).toBe(403);
  // Without its link, the session token authorises it; with neither, nothing does.
  const bare = `/attachments/${attachment.id}/content`;
  expect((await stack.http.get(bare).set(bearer(token)).redirects(0)).status).toBe(302);
  expect((await stack.http.get(bare).redirects(0)).status).toBe(401);
  const stranger = (await stack.newSession()).token;
  // Another session's token: Genesys knows no such attachment in that session.
  const refused = await stack.http.get(bare).set(bearer(stranger)).redirects(0);
  expect([refused.status, refused.body.code]).toEqual([404, 'not_found']);
});

describe('refused before Genesys sees the file', () => {
  let token: string;
  beforeEach(async () => {
    token = (await stack.newSession()).token;
  });

  test('a program dressed as an image (type judged by content)', async () => {
    const before = frames('onAttachment').length;
    const res = await upload(token, EXE, 'photo.png', 'image/png');
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('attachment_type_not_allowed');
    expect(frames('onAttachment')).toHaveLength(before);
  });

  test('a blocked extension', async () => {
    const before = frames('onAttachment').length;
    const res = await upload(token, PNG, 'photo.exe', 'image/png');
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('attachment_type_not_allowed');
    expect(frames('onAttachment')).toHaveLength(before);
  });

  test("a file over the deployment's size limit", async () => {
    const limit = (await stack.http.get('/capabilities').set(bearer(token))).body.attachments.maxBytes as number;
    const before = frames('onAttachment').length;
    const big = Buffer.concat([PNG, Buffer.alloc(limit)]);
    const res = await upload(token, big, 'big.png', 'image/png');
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('attachment_too_large');
    expect(frames('onAttachment')).toHaveLength(before);
  });

  test('not multipart, no file part, or an empty file', async () => {
    expect((await stack.http.post('/attachments').set(bearer(token)).send({ file: 'x' })).status).toBe(415);
    const noFile = await stack.http.post('/attachments').set(bearer(token)).field('note', 'hello');
    expect(noFile.status).toBe(400);
    const empty = await upload(token, Buffer.alloc(0), 'empty.png', 'image/png');
    expect(empty.status).toBe(400);
  });
});

test('uploads off in the deployment: 422 attachments_disabled, and capabilities say so', async () => {
  const off = await startStack({ sim: { agent: { enabled: false }, fileUploadModes: [] } });
  try {
    const { token } = await off.newSession();
    expect((await off.http.get('/capabilities').set(bearer(token))).body.attachments.enabled).toBe(false);
    const res = await off.http
      .post('/attachments')
      .set(bearer(token))
      .attach('file', PNG, { filename: 'photo.png', contentType: 'image/png' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('attachments_disabled');
    expect(off.sim.received.filter((f) => f.frame?.action === 'onAttachment')).toHaveLength(0);
  } finally {
    await off.close();
  }
});

// As Genesys's SDK: deleteAttachment only for a file Genesys has (AttachmentHandlerImpl.detach sends it for an Uploaded one only).
test('Genesys refusing the upload after the PUT: the guest is told, and nothing is deleted (Genesys has no file)', async () => {
  const { token } = await stack.newSession();
  stack.sim.faults.failNextUpload();
  const res = await upload(token, PNG, 'photo.png', 'image/png');
  expect(res.status).toBe(415);
  const id = frames('onAttachment').at(-1)!.frame.attachmentId as string;
  expect(frames('deleteAttachment').map((f) => f.frame.attachmentId)).not.toContain(id);
});

test('a PUT that storage refuses: the guest gets a 502, and nothing is deleted (Genesys has no file)', async () => {
  const { token } = await stack.newSession();
  stack.sim.faults.failRest('upload', {
    status: 403,
    body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>',
    times: 1,
  });
  const res = await upload(token, PNG, 'photo.png', 'image/png');
  expect(res.status).toBe(502);
  expect(res.body.code).toBe('upstream_unavailable');
  const id = frames('onAttachment').at(-1)!.frame.attachmentId as string;
  expect(frames('deleteAttachment').map((f) => f.frame.attachmentId)).not.toContain(id);
});

test('DELETE /attachments/{id} of a file never uploaded: 404, as Genesys knows no such file', async () => {
  const { token } = await stack.newSession();
  const res = await stack.http.delete('/attachments/5d1a7c52-8e0b-4f3a-9c6d-2b7e4f1a9c30').set(bearer(token));
  expect([res.status, res.body.code]).toEqual([404, 'not_found']);
});

test('an ended (read-only) conversation takes no more files: 409 before the body is read, and Genesys is not asked', async () => {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  stack.sim.agent.disconnect(gt);
  await waitFor(
    async () => (await stack.http.get('/guest-session').set(bearer(token))).body.readOnly === true,
    10_000,
    50,
  );
  const presigns = frames('onAttachment').length;
  const res = await upload(token, PNG, 'photo.png', 'image/png');
  expect([res.status, res.body.code]).toEqual([409, 'conflict']);
  expect(frames('onAttachment')).toHaveLength(presigns);
});

test('an upload the guest cancels while Genesys takes the file is deleted there once Genesys has it', async () => {
  const { token } = await stack.newSession();
  stack.sim.faults.delayRest('upload', 1_000, { times: 1 });
  const puts = uploads().length;
  const request = stack.http
    .post('/attachments')
    .set(bearer(token))
    .attach('file', PNG, { filename: 'photo.png', contentType: 'image/png' });
  const outcome = request.then(
    () => 'answered',
    () => 'cancelled',
  );
  // The file reached storage; storage has not answered yet. The guest cancels.
  await waitFor(() => uploads().length > puts, EVENT_WAIT_MS, 20);
  request.abort();
  expect(await outcome).toBe('cancelled');
  const id = frames('onAttachment').at(-1)!.frame.attachmentId as string;
  await waitFor(() => frames('deleteAttachment').some((f) => f.frame.attachmentId === id), EVENT_WAIT_MS, 50);
});

test('DELETE /attachments/{id} drops an uploaded file; it can no longer be sent', async () => {
  const { token } = await stack.newSession();
  const { attachment } = (await upload(token, PNG, 'photo.png', 'image/png')).body as { attachment: { id: string } };
  expect((await stack.http.delete(`/attachments/${attachment.id}`).set(bearer(token))).status).toBe(204);
  expect(frames('deleteAttachment').at(-1)!.frame.attachmentId).toBe(attachment.id);
  const sent = await stack.http
    .post('/messages')
    .set(bearer(token))
    .send({ attachmentIds: [attachment.id] });
  expect(sent.status).toBeGreaterThanOrEqual(400);
  expect(sent.status).toBeLessThan(500);
});

test('POST /messages refuses a bad attachment list before Genesys sees it', async () => {
  const { token } = await stack.newSession();
  for (const body of [
    { attachmentIds: [] },
    { attachmentIds: ['not an id'] },
    { attachmentIds: ['a'.repeat(129)] },
    { attachmentIds: Array(11).fill('5d1a7c52-8e0b-4f3a-9c6d-2b7e4f1a9c30') },
  ]) {
    const res = await stack.http.post('/messages').set(bearer(token)).send(body);
    expect(res.status).toBe(400);
  }
});

describe('file refusals Genesys sends that no script predicts', () => {
  test('5000 to onAttachment: the upload is 502, nothing reaches storage, and the next upload goes through', async () => {
    const before = stack.sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(stack.sim, before);
    const stored = uploads().length;
    stack.sim.faults.refuseNext('onAttachment', { code: 5000, body: 'Request failed.', sessionToken: gt });
    const refused = await upload(token, PNG, 'photo.png', 'image/png');
    expect([refused.status, refused.body.code]).toEqual([502, 'upstream_unavailable']);
    expect(uploads()).toHaveLength(stored);
    expect((await upload(token, PNG, 'photo.png', 'image/png')).status).toBe(201);
  });

  test('5000 to deleteAttachment: the delete is 502, and the file can still be sent', async () => {
    const before = stack.sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(stack.sim, before);
    const { attachment } = (await upload(token, PNG, 'photo.png', 'image/png')).body as { attachment: { id: string } };
    stack.sim.faults.refuseNext('deleteAttachment', { code: 5000, body: 'Request failed.', sessionToken: gt });
    const removed = await stack.http.delete(`/attachments/${attachment.id}`).set(bearer(token));
    expect([removed.status, removed.body.code]).toEqual([502, 'upstream_unavailable']);
    const sent = await stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ attachmentIds: [attachment.id] });
    expect(sent.status).toBe(201);
  });

  test('4008 (the attachment expired) to a message naming it: 400 "upload it again", and no message at Genesys', async () => {
    const before = stack.sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(stack.sim, before);
    const { attachment } = (await upload(token, PNG, 'photo.png', 'image/png')).body as { attachment: { id: string } };
    stack.sim.faults.refuseNext('onMessage', { code: 4008, body: 'Attachment has expired', sessionToken: gt });
    const sent = await stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ text: 'my parcel', attachmentIds: [attachment.id] });
    expect([sent.status, sent.body.code]).toEqual([400, 'validation_failed']);
    expect(sent.body.detail).toMatch(/expired.*upload it again/);
    expect(stack.sim.conversationMessages(gt).filter((m) => (m as { text?: string }).text === 'my parcel')).toEqual([]);
  });
});
