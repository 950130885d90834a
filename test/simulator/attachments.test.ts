import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { demoPng } from '../../simulator/richReplies';
import { isClass, RawGuest, type Frame } from '../support/rawGuest';
import { manualClock } from '../support/platform';

/**
 * @simulator kind it tests the default profile's attachments; the strict one's are in strictNeverKinder.test.ts
 */
/** The simulator's attachments, driven with raw frames and plain HTTP, as a client of real Genesys would. */
let sim: Simulator;
let guest: RawGuest;
let token: string;
const PNG = demoPng(4, 4);

beforeAll(async () => {
  sim = await startSimulator({ agent: { typingDelayMs: 1, replyDelayMs: 1 } });
});
beforeEach(async () => {
  guest = await RawGuest.connect(sim);
  token = randomUUID();
  await guest.configure(sim, token);
});
afterEach(async () => {
  await guest.close();
  sim.reset();
  sim.setOptions({ downloadUrlTtlSeconds: 600, uploadUrlTtlSeconds: 60, clock: Date.now });
});
afterAll(() => sim.stop());

async function presign(fileName = 'a.png', fileType = 'image/png', fileSize = PNG.length) {
  const attachmentId = randomUUID();
  guest.send({
    action: 'onAttachment',
    token,
    attachmentId,
    fileName,
    fileType,
    fileSize,
    errorsAsJson: true,
    tracingId: randomUUID(),
  });
  const reply = await guest.next(
    (f) => isClass('PresignedUrlResponse')(f) || isClass('GenerateUrlError')(f),
    'the presign reply',
  );
  return { attachmentId, reply };
}

const put = (url: string, headers: Record<string, string>, body: Buffer = PNG) =>
  fetch(url, { method: 'PUT', headers: { 'content-type': 'image/png', ...headers }, body: new Uint8Array(body) });

/** What the bot or agent says back: an outbound message that is no event. */
const isAgentReply = (f: Frame) =>
  isClass('StructuredMessage')(f) && f.body.direction === 'Outbound' && f.body.type !== 'Event';

/** A card button pressed, as the Messenger SDK answers it (a Structured message with a ButtonResponse). */
function pressButton(text: string, payload: string): void {
  guest.send({
    action: 'onMessage',
    token,
    tracingId: randomUUID(),
    message: {
      type: 'Structured',
      text,
      content: [{ contentType: 'ButtonResponse', buttonResponse: { type: 'Button', text, payload } }],
    },
  });
}

test('presign, PUT with every header, UploadSuccessEvent, send by id: the echo carries the file and its link works', async () => {
  const { attachmentId, reply } = await presign();
  expect(reply.body).toMatchObject({
    attachmentId,
    headers: { 'x-amz-tagging': expect.any(String) },
    url: expect.stringContaining('/uploads/'),
  });
  expect((await put(reply.body.url, reply.body.headers)).status).toBe(200);
  const done = await guest.next((f) => isClass('UploadSuccessEvent')(f), 'the upload verdict');
  expect(done.body).toMatchObject({ attachmentId, downloadUrl: expect.stringContaining('/downloads/') });
  guest.send({
    action: 'onMessage',
    token,
    tracingId: randomUUID(),
    message: { type: 'Text', text: '', content: [{ contentType: 'Attachment', attachment: { id: attachmentId } }] },
  });
  const echo = await guest.next((f) => isClass('StructuredMessage')(f) && f.body.direction === 'Inbound', 'the echo');
  expect(echo.body.content[0].attachment).toMatchObject({
    id: attachmentId,
    filename: 'a.png',
    mediaType: 'Image',
    mime: 'image/png',
    fileSize: PNG.length,
  });
  const file = await fetch(echo.body.content[0].attachment.url);
  expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG);
});

test('S3 refuses a PUT without the signed header, with another size or type, with a forged signature, or after expiry', async () => {
  const { reply } = await presign();
  expect((await put(reply.body.url, {})).status).toBe(403);
  expect((await put(reply.body.url, reply.body.headers, Buffer.concat([PNG, Buffer.from('x')]))).status).toBe(403);
  expect((await put(reply.body.url, { ...reply.body.headers, 'content-type': 'image/gif' })).status).toBe(403);
  expect(
    (
      await put(
        reply.body.url.replace(/Signature=(\w)/, (_m: string, c: string) => `Signature=${c === '0' ? '1' : '0'}`),
        reply.body.headers,
      )
    ).status,
  ).toBe(403);
  sim.setOptions({ uploadUrlTtlSeconds: 0 });
  const late = await presign();
  expect((await put(late.reply.body.url, late.reply.body.headers)).status).toBe(403);
  expect(guest.pending().filter((f) => isClass('UploadSuccessEvent')(f))).toEqual([]);
});

test('Genesys refuses a blocked extension, a type the session does not allow, a size over the limit: GenerateUrlError', async () => {
  expect((await presign('run.exe', 'application/octet-stream')).reply.body).toMatchObject({ errorCode: 4001 });
  expect((await presign('big.png', 'image/png', 10240 * 1024 + 1)).reply.body).toMatchObject({ errorCode: 4002 });
  expect((await presign('noextension', 'image/png')).reply.body).toMatchObject({ errorCode: 4004 });
  sim.setOptions({ allowedMedia: { inbound: { fileTypes: [{ type: 'application/pdf' }], maxFileSizeKB: 100 } } });
  try {
    expect((await presign('a.png', 'image/png')).reply.body).toMatchObject({ errorCode: 4001 });
  } finally {
    sim.setOptions({
      allowedMedia: { inbound: { fileTypes: [{ type: '*/*' }, { type: 'video/3gpp' }], maxFileSizeKB: 10240 } },
    });
  }
});

test('download links expire; getAttachment signs a fresh one; failNextUpload gives UploadFailureEvent', async () => {
  // Links expire on the simulator's clock, which the test moves: a link is used within its second, however slow the machine.
  const clock = manualClock(Date.now());
  sim.setOptions({ downloadUrlTtlSeconds: 1, clock: clock.now });
  const { attachmentId, reply } = await presign();
  await put(reply.body.url, reply.body.headers);
  const { body } = await guest.next((f) => isClass('UploadSuccessEvent')(f), 'the verdict');
  expect((await fetch(body.downloadUrl)).status).toBe(200);
  clock.advance(2000);
  expect((await fetch(body.downloadUrl)).status).toBe(403);
  guest.send({ action: 'getAttachment', token, attachmentId, tracingId: randomUUID() });
  const fresh = await guest.next(
    (f) => isClass('PresignedUrlResponse')(f) && f.body.fileName === 'a.png',
    'the fresh link',
  );
  expect(fresh.body.headers).toEqual({});
  expect((await fetch(fresh.body.url)).status).toBe(200);

  sim.faults.failNextUpload();
  const second = await presign();
  expect((await put(second.reply.body.url, second.reply.body.headers)).status).toBe(200);
  expect((await guest.next((f) => isClass('UploadFailureEvent')(f), 'the failure')).body).toMatchObject({
    attachmentId: second.attachmentId,
    errorCode: 4003,
  });
});

test('deleteAttachment removes an unsent upload: it can no longer be sent', async () => {
  const { attachmentId, reply } = await presign();
  await put(reply.body.url, reply.body.headers);
  await guest.next((f) => isClass('UploadSuccessEvent')(f), 'the verdict');
  guest.send({ action: 'deleteAttachment', token, attachmentId, tracingId: randomUUID() });
  expect((await guest.next((f) => isClass('AttachmentDeletedResponse')(f), 'the deletion')).body).toEqual({
    attachmentId,
  });
  guest.send({
    action: 'onMessage',
    token,
    tracingId: randomUUID(),
    message: { type: 'Text', text: '', content: [{ contentType: 'Attachment', attachment: { id: attachmentId } }] },
  });
  expect((await guest.next((f) => isClass('string')(f), 'the refusal')).code).toBe(4009);
});

test.each([
  [
    'send image',
    (b: { content: { contentType: string; attachment?: { mediaType: string } }[] }) =>
      b.content[0]!.attachment?.mediaType === 'Image',
  ],
  ['show me a card', (b: { content: { contentType: string }[] }) => b.content[0]!.contentType === 'Card'],
  ['a carousel please', (b: { content: { contentType: string }[] }) => b.content[0]!.contentType === 'Carousel'],
  ['date picker', (b: { content: { contentType: string }[] }) => b.content[0]!.contentType === 'DatePicker'],
])('the agent answers "%s" with rich content', async (text, check) => {
  await guest.say(token, text);
  const reply = await guest.next(isAgentReply, 'the answer');
  expect(check(reply.body)).toBe(true);
});

test('a card button answer gets "You chose", and "human" hands over to a human agent', async () => {
  pressButton('Track order', 'track');
  const chosen = await guest.next(isAgentReply, 'the answer');
  expect(chosen.body.text).toBe('You chose: Track order');
  await guest.say(token, 'I want a human');
  const human = await guest.next(
    (f) => isClass('StructuredMessage')(f) && f.body.direction === 'Outbound' && f.body.originatingEntity === 'Human',
    'the human',
  );
  expect(human.body.channel.from.nickname).toBe('Alex');
});

test('the strict profile pushes the verdict before storage answers the PUT', async () => {
  sim.setOptions({ profile: 'strict' });
  try {
    const { attachmentId, reply } = await presign();
    expect((await put(reply.body.url, reply.body.headers)).status).toBe(200);
    // Pushed 50 ms before the answer: already here when the PUT is answered.
    expect(
      guest
        .pending()
        .filter((f) => isClass('UploadSuccessEvent')(f))
        .map((f) => f.body.attachmentId),
    ).toEqual([attachmentId]);
  } finally {
    sim.setOptions({ profile: 'default' });
  }
});

test('the card\'s "Talk to a person" button hands over to a human agent too', async () => {
  pressButton('Talk to a person', 'human');
  const answer = await guest.next(isAgentReply, 'the answer');
  expect([answer.body.originatingEntity, answer.body.channel.from.nickname]).toEqual(['Human', 'Alex']);
  expect(answer.body.text).toContain("I'm Alex");
});

test('the strict profile: a file presigned and never uploaded cannot be deleted, an ended conversation takes no file, and a KB is 1000 bytes', async () => {
  sim.setOptions({ profile: 'strict' });
  try {
    const { attachmentId } = await presign();
    guest.send({ action: 'deleteAttachment', token, attachmentId, tracingId: randomUUID() });
    expect(
      (await guest.next((f) => isClass('string')(f) || isClass('AttachmentDeletedResponse')(f), 'the answer')).code,
    ).toBe(4009);
    expect((await presign('big.png', 'image/png', 10240 * 1000 + 1)).reply.body).toMatchObject({ errorCode: 4002 });

    sim.agent.disconnect(token);
    await guest.next((f) => isClass('StructuredMessage')(f) && f.body.type === 'Event', 'the disconnect');
    guest.send({
      action: 'onAttachment',
      token,
      attachmentId: randomUUID(),
      fileName: 'a.png',
      fileType: 'image/png',
      fileSize: PNG.length,
      errorsAsJson: true,
      tracingId: randomUUID(),
    });
    const refused = await guest.next((f) => isClass('string')(f) || isClass('PresignedUrlResponse')(f), 'the answer');
    expect([refused.class, refused.code]).toEqual(['string', 403]);
  } finally {
    sim.setOptions({ profile: 'default' });
  }
});

test('the default profile still deletes a presigned file (the kinder reading)', async () => {
  const { attachmentId } = await presign();
  guest.send({ action: 'deleteAttachment', token, attachmentId, tracingId: randomUUID() });
  expect((await guest.next((f) => isClass('AttachmentDeletedResponse')(f), 'the deletion')).body).toEqual({
    attachmentId,
  });
});
