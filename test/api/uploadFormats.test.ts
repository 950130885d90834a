import {
  allowedSamples,
  elfExecutable,
  fatMachO,
  machOExecutable,
  peExecutable,
  shellScript,
} from '../support/fileSamples';
import { uploadTypeDecisions } from '../../src/observability/metrics';
import { bearer, startStack, type Stack } from '../support/stack';

/**
 * Real files against the strict simulator with every type allowed (`*\/*`,
 * config.json's enableAttachments handing the decision to the session, as
 * Genesys's SDK reads it): every document, archive, recording and picture a
 * guest may send is accepted, and each program dressed up as one of them,
 * or named with a blocked extension however that is disguised, is refused
 * before Genesys sees it.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ sim: { profile: 'strict', agent: { enabled: false }, enableAttachments: true } });
});

afterAll(async () => {
  await stack.close();
});

const presigns = () => stack.sim.received.filter((f) => f.frame?.action === 'onAttachment');

async function upload(token: string, bytes: Buffer, fileName: string, type: string) {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(bytes)], fileName, { type }));
  const res = await fetch(`${stack.service.url}/attachments`, { method: 'POST', headers: bearer(token), body: form });
  return {
    status: res.status,
    body: (await res.json()) as {
      code?: string;
      detail?: string;
      attachment?: { mediaType: string; size: number; fileName: string };
    },
  };
}

test('the deployment allows every type', async () => {
  const { token } = await stack.newSession();
  const caps = (await stack.http.get('/capabilities').set(bearer(token))).body;
  expect(caps.attachments).toMatchObject({
    enabled: true,
    mediaTypes: expect.arrayContaining(['*/*']),
    blockedExtensions: expect.arrayContaining(['.exe']),
  });
});

test.each(allowedSamples().map((s) => [s.name, s]))(
  '%s is accepted (201) and reaches Genesys as the type it was sent as',
  async (_name, sample) => {
    const { token } = await stack.newSession();
    const res = await upload(token, sample.bytes, sample.fileName, sample.declaredType);
    expect([res.status, res.body.detail]).toEqual([201, undefined]);
    expect(res.body.attachment).toMatchObject({ fileName: sample.fileName, size: sample.bytes.length });
    const sent = presigns().at(-1)!.frame;
    expect(sent).toMatchObject({ fileName: sample.fileName, fileSize: sample.bytes.length });
    // Never judged by its bytes: what the browser declared (without parameters, a common alias by its usual name), or what the name implies when it declared nothing.
    expect(sent.fileType).toBe(sample.sentAs ?? sample.declaredType.split(';')[0]);
  },
);

const disguised: [string, Buffer, string, string][] = [
  ['a Windows program named as a PNG', peExecutable(), 'photo.png', 'image/png'],
  ['a Windows program named as a PDF', peExecutable(), 'invoice.pdf', 'application/pdf'],
  [
    'a Windows program named as a Word file',
    peExecutable(),
    'letter.docx',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  ],
  ['a Windows program named .exe but sent as an image', peExecutable(), 'setup.exe', 'image/png'],
  ['a Linux program named as a JPEG', elfExecutable(), 'photo.jpg', 'image/jpeg'],
  ['a Linux program named as a text file', elfExecutable(), 'notes.txt', 'text/plain'],
  ['a macOS program named as a PDF', machOExecutable(), 'report.pdf', 'application/pdf'],
  ['a universal macOS program named as a HEIC photo', fatMachO(), 'IMG_0002.heic', 'image/heic'],
  ['a shell script declared as a text file under a PNG name', shellScript(), 'photo.png', 'text/plain'],
  ['a shell script named as a PNG', shellScript(), 'photo.png', 'image/png'],
  ['a shell script sent with no type under a CSV name', shellScript(), 'orders.csv', 'application/octet-stream'],
];

test.each(disguised)('%s is refused (415) before Genesys sees it', async (_name, bytes, fileName, type) => {
  const { token } = await stack.newSession();
  const before = presigns().length;
  const res = await upload(token, bytes, fileName, type);
  expect([res.status, res.body.code]).toEqual([415, 'attachment_type_not_allowed']);
  expect(presigns()).toHaveLength(before);
});

test.each([
  ['mixed case', 'setup.ExE'],
  ['a trailing space', 'setup.exe '],
  ['a trailing no-break space', 'setup.exe\u00a0'],
  ['a trailing zero-width space', 'setup.exe\u200b'],
  ['a trailing ideographic space', 'setup.exe\u3000'],
  ['a trailing line separator', 'setup.exe\u2028'],
  ['a trailing paragraph separator', 'setup.exe\u2029'],
  ['the NTFS data stream', 'setup.exe::$DATA'],
  ['a trailing dot', 'setup.exe.'],
  ['a right-to-left override', 'setup\u202e.exe'],
  ['full-width letters', 'setup.\uff45\uff58\uff45'],
  ['another blocked extension behind a stream name', 'run.bat:zone.txt'],
])('a blocked extension with %s is refused (415) before Genesys sees it', async (_how, fileName) => {
  const { token } = await stack.newSession();
  const before = presigns().length;
  const res = await upload(token, peExecutable(), fileName, 'application/x-msdownload');
  expect([res.status, res.body.code]).toEqual([415, 'attachment_type_not_allowed']);
  expect(presigns()).toHaveLength(before);
});

describe('a deployment that lists a few types, and blocks .exe', () => {
  let listed: Stack;

  beforeAll(async () => {
    listed = await startStack({
      sim: {
        profile: 'strict',
        agent: { enabled: false },
        enableAttachments: true,
        allowedMedia: {
          inbound: {
            fileTypes: ['text/csv', 'application/xml', 'text/javascript', 'text/plain'].map((type) => ({ type })),
            maxFileSizeKB: 1024,
          },
        },
        blockedExtensions: ['.exe', '.bat'],
      },
    });
  });

  afterAll(async () => {
    await listed.close();
  });

  async function send(fileName: string, declared: string, bytes: Buffer) {
    const { token } = await listed.newSession();
    const form = new FormData();
    form.append('file', new File([new Uint8Array(bytes)], fileName, { type: declared }));
    const res = await fetch(`${listed.service.url}/attachments`, {
      method: 'POST',
      headers: bearer(token),
      body: form,
    });
    const frames = listed.sim.received.filter((f) => f.frame?.action === 'onAttachment');
    return { status: res.status, body: (await res.json()) as { code?: string }, sent: frames.at(-1)?.frame };
  }

  test.each([
    ['a .csv that Excel declares application/vnd.ms-excel', 'orders.csv', 'application/vnd.ms-excel', 'text/csv'],
    ['an .xml declared text/xml', 'feed.xml', 'text/xml', 'application/xml'],
  ])('%s reaches Genesys as the listed %s', async (_n, fileName, declared, listedType) => {
    const res = await send(fileName, declared, Buffer.from('id,total\n1,9.99\n'));
    expect(res.status).toBe(201);
    expect(res.sent).toMatchObject({ fileName, fileType: listedType });
  });

  test.each(['text/csv', 'application/xml', 'application/vnd.ms-excel', 'application/octet-stream'])(
    'a .exe declared %s is still refused before Genesys sees it',
    async (declared) => {
      const before = listed.sim.received.filter((f) => f.frame?.action === 'onAttachment').length;
      const res = await send('setup.exe', declared, peExecutable());
      expect([res.status, res.body.code]).toEqual([415, 'attachment_type_not_allowed']);
      expect(listed.sim.received.filter((f) => f.frame?.action === 'onAttachment')).toHaveLength(before);
    },
  );

  describe('content starting #! declared as the text or script it is', () => {
    test.each([
      ['a tool.js sent as text/javascript', 'tool.js', 'text/javascript', '#!/usr/bin/env node\nconsole.log("hi");\n'],
      ['a .txt log whose first line starts #!', 'build.txt', 'text/plain', '#! build 1234 started\nstep 1 ok\n'],
      ['a shell script sent as the plain text a .txt is', 'notes.txt', 'text/plain', shellScript().toString()],
    ])(
      '%s is accepted where its type is allowed, and reaches Genesys as that type',
      async (_n, fileName, type, text) => {
        const res = await send(fileName, type, Buffer.from(text));
        expect(res.status).toBe(201);
        expect(res.sent).toMatchObject({ fileName, fileType: type });
      },
    );

    test('one is judged, and counted, once however many reads it arrives in', async () => {
      const honest = async () =>
        (await uploadTypeDecisions.get()).values.find((v) => v.labels.decision === 'script_as_text')?.value ?? 0;
      const before = await honest();
      const script = Buffer.concat([shellScript(), Buffer.alloc(300_000, ' ')]);
      expect((await send('notes.txt', 'text/plain', script)).status).toBe(201);
      expect(await honest()).toBe(before + 1);
    });
  });
});
