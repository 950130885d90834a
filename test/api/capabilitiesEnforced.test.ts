import fc from 'fast-check';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { bearer, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';

/**
 * What the service says a guest may do is what it lets the guest do. For
 * generated deployments (config.json's upload modes, or `enableAttachments`
 * handing the decision to the session) and generated sessions (the
 * SessionResponse's allowedMedia with or without a size, or none; its blocked
 * extensions; its attribute budget), `GET /capabilities` and the limits of
 * `POST /guest-session` are read, then held against `POST /attachments`,
 * `PUT /guest-attributes` and `POST /messages` at their edges:
 *
 * - `enabled: false`: any upload is `422 attachments_disabled`;
 * - `enabled: true`: a file of a reported type of exactly `maxBytes` is
 *   uploaded (201, so Genesys took it too); one byte more is `413`; a type no
 *   reported type covers is `415`; a reported blocked extension is `415`;
 * - `maxTextBytes` of text is sent (201), one byte more is `413`;
 * - attributes of exactly `maxCustomDataBytes` are kept (200) and reach
 *   Genesys with the next message (201); one byte more is `413`.
 *
 * Each run is a service of its own (config.json is cached by the service)
 * against one strict simulator reconfigured for the run.
 */
const SEED = Number(process.env.CAPABILITIES_SEED ?? 31);
const RUNS = Number(process.env.CAPABILITIES_RUNS ?? 25);

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
});
afterAll(() => sim.stop());

/** Types a deployment may list, each with the extension a file of it has; and wildcards. */
const CONCRETE = [
  { type: 'image/png', ext: '.png' },
  { type: 'image/jpeg', ext: '.jpg' },
  { type: 'image/gif', ext: '.gif' },
  { type: 'application/pdf', ext: '.pdf' },
  { type: 'application/zip', ext: '.zip' },
  { type: 'text/plain', ext: '.txt' },
  { type: 'video/mp4', ext: '.mp4' },
  { type: 'audio/mpeg', ext: '.mp3' },
] as const;
const WILDCARDS = ['image/*', 'video/*', 'audio/*', 'application/*', '*/*'];
/** Blocked extensions a session may state (none of them a CONCRETE type's). */
const BLOCKABLE = ['.exe', '.bat', '.cmd', '.js', '.msi', '.vbs', '.scr'];

/** A reported list covers a type: `*\/*`, the type itself, or its major type's wildcard (CONTRACT.md section 8). */
const covers = (reported: readonly string[], type: string) =>
  reported.some((r) => r === '*/*' || r === type || (r.endsWith('/*') && type.startsWith(r.slice(0, -1))));

const typeList = fc.uniqueArray(fc.constantFrom(...CONCRETE.map((c) => c.type), ...WILDCARDS), { maxLength: 3 });
/** Sizes in KB (1000 bytes) small enough to upload in a blink; 0 switches a mode off. */
const sizeKB = fc.integer({ min: 0, max: 24 });

interface Deployment {
  enableAttachments: boolean | 'absent';
  modes: { fileTypes: string[]; maxFileSizeKB: number }[];
}
interface Session {
  allowedMedia: { inbound: { fileTypes: { type: string }[]; maxFileSizeKB?: number } } | 'absent';
  blockedExtensions: string[];
  maxCustomDataBytes: number;
}

const deployments: fc.Arbitrary<Deployment> = fc.record({
  enableAttachments: fc.constantFrom<Deployment['enableAttachments']>('absent', true, false),
  modes: fc.array(fc.record({ fileTypes: typeList, maxFileSizeKB: sizeKB }), { maxLength: 2 }),
});
const sessions: fc.Arbitrary<Session> = fc.record({
  allowedMedia: fc.oneof(
    { weight: 1, arbitrary: fc.constant('absent' as const) },
    {
      weight: 3,
      arbitrary: fc.record({
        inbound: fc.record({
          fileTypes: typeList.map((types) => types.map((type) => ({ type }))),
          // A session may state no size at all: one in three.
          maxFileSizeKB: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: sizeKB }),
        }),
      }),
    },
  ),
  blockedExtensions: fc.subarray(BLOCKABLE),
  maxCustomDataBytes: fc.integer({ min: 100, max: 3000 }),
});

/** Characters of 1 to 4 UTF-8 bytes, so a limit is met in bytes and not in characters. */
const CHARS = ['a', 'é', '€', '😀'];
const charMix = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 40 });

/** A string of exactly `bytes` UTF-8 bytes: the mix repeated while it fits, then `a`s. */
function ofBytes(bytes: number, mix: string[]): string {
  let out = '';
  let used = 0;
  for (let i = 0; ; i++) {
    const c = mix[i % mix.length]!;
    const size = Buffer.byteLength(c);
    if (used + size > bytes) break;
    out += c;
    used += size;
  }
  return out + 'a'.repeat(bytes - used);
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

interface Answer {
  status: number;
  body: { code?: string; [k: string]: unknown };
}
const outcome = (res: Answer) => `${res.status} ${res.body.code ?? ''}`.trim();

/** A file whose bytes are no program: what it is, the deployment's lists decide. */
const fileOf = (size: number) => Buffer.alloc(size, 0x41);

async function upload(stack: Stack, token: string, size: number, fileName: string, mediaType: string): Promise<Answer> {
  return stack.http
    .post('/attachments')
    .set(bearer(token))
    .attach('file', fileOf(size), { filename: fileName, contentType: mediaType });
}

/** One run: the report read, then every edge it implies asked, all answers compared at once. */
async function reportedIsEnforced(stack: Stack, mix: string[]): Promise<void> {
  const started = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
  expect(started.status).toBe(201);
  const token = started.body.sessionToken as string;
  const limits = started.body.limits as { maxTextBytes: number; maxCustomDataBytes: number };
  const capabilities = await stack.http.get('/capabilities').set(bearer(token));
  expect(capabilities.status).toBe(200);
  const reported = capabilities.body.attachments as {
    enabled: boolean;
    mediaTypes: string[];
    maxBytes: unknown;
    blockedExtensions: string[];
  };

  // A limit is a number of bytes, and "enabled" is a promise some file can keep.
  expect({
    maxBytes: reported.maxBytes,
    isBytes: Number.isSafeInteger(reported.maxBytes) && (reported.maxBytes as number) >= 0,
  }).toEqual({ maxBytes: reported.maxBytes, isBytes: true });
  const maxBytes = reported.maxBytes as number;
  if (reported.enabled)
    expect({ maxBytes: maxBytes > 0, mediaTypes: reported.mediaTypes.length > 0 }).toEqual({
      maxBytes: true,
      mediaTypes: true,
    });

  const seen: [string, string][] = [];
  const want: [string, string][] = [];
  const check = async (what: string, expected: string, answer: Promise<Answer>) => {
    want.push([what, expected]);
    seen.push([what, outcome(await answer)]);
  };

  if (!reported.enabled) {
    await check(
      'any upload, uploads reported off',
      '422 attachments_disabled',
      upload(stack, token, 10, 'photo.png', 'image/png'),
    );
  } else {
    const allowed = CONCRETE.find((c) => covers(reported.mediaTypes, c.type));
    expect({ mediaTypes: reported.mediaTypes, aConcreteTypeFits: allowed !== undefined }).toEqual({
      mediaTypes: reported.mediaTypes,
      aConcreteTypeFits: true,
    });
    const { type, ext } = allowed!;
    await check(`${type} of exactly maxBytes (${maxBytes})`, '201', upload(stack, token, maxBytes, `file${ext}`, type));
    await check(
      `${type} of maxBytes + 1`,
      '413 attachment_too_large',
      upload(stack, token, maxBytes + 1, `file${ext}`, type),
    );
    const refusedType = CONCRETE.find((c) => !covers(reported.mediaTypes, c.type));
    if (refusedType)
      await check(
        `${refusedType.type}, not reported`,
        '415 attachment_type_not_allowed',
        upload(stack, token, 10, `file${refusedType.ext}`, refusedType.type),
      );
    for (const blocked of reported.blockedExtensions) {
      await check(
        `a ${type} named file${blocked}, reported blocked`,
        '415 attachment_type_not_allowed',
        upload(stack, token, 10, `file${blocked}`, type),
      );
    }
  }

  // Attributes filling the reported budget exactly: kept, and taken by Genesys with the next message (of exactly maxTextBytes).
  const probe = await stack.http.put('/guest-attributes').set(bearer(token)).send({ pad: 'x' });
  expect(probe.status).toBe(200);
  const others =
    Object.entries(probe.body.attributes as Record<string, string>).reduce((n, [k, v]) => n + utf8(k) + utf8(v), 0) -
    utf8('pad') -
    utf8('x');
  const fill = ofBytes(limits.maxCustomDataBytes - others - utf8('pad'), mix);
  await check(
    `attributes of exactly maxCustomDataBytes (${limits.maxCustomDataBytes})`,
    '200',
    stack.http.put('/guest-attributes').set(bearer(token)).send({ pad: fill }),
  );
  await check(
    `text of exactly maxTextBytes (${limits.maxTextBytes}), with those attributes`,
    '201',
    stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ text: ofBytes(limits.maxTextBytes, mix) }),
  );
  await check(
    'text of maxTextBytes + 1',
    '413 message_too_long',
    stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ text: ofBytes(limits.maxTextBytes + 1, mix) }),
  );
  await check(
    'attributes of maxCustomDataBytes + 1',
    '413 attributes_too_large',
    stack.http
      .put('/guest-attributes')
      .set(bearer(token))
      .send({ pad: `${fill}a` }),
  );

  expect({ reported, seen }).toEqual({ reported, seen: want });
}

/** The simulator as the run generated it, and a service of its own (which reads config.json afresh). */
async function runWith(deployment: Deployment, session: Session, mix: string[]): Promise<void> {
  sim.setOptions({
    fileUploadModes: deployment.modes,
    enableAttachments: deployment.enableAttachments,
    ...session,
  } satisfies SimulatorOptions);
  const stack = await startStack({ simulator: sim });
  try {
    await reportedIsEnforced(stack, mix);
  } finally {
    await stack.close();
  }
}

test('what GET /capabilities and the session limits report is what POST /attachments, PUT /guest-attributes and POST /messages enforce', async () => {
  await fc.assert(
    fc.asyncProperty(deployments, sessions, charMix, (deployment, session, mix) => runWith(deployment, session, mix)),
    { numRuns: RUNS, seed: SEED },
  );
});

/** The report and an upload's answer, for one deployment and session. */
async function reportAndUpload(simOptions: SimulatorOptions): Promise<{ attachments: unknown; upload: string }> {
  sim.setOptions(simOptions);
  const stack = await startStack({ simulator: sim });
  try {
    const { token } = await stack.newSession();
    const reported = (await stack.http.get('/capabilities').set(bearer(token))).body.attachments;
    return { attachments: reported, upload: outcome(await upload(stack, token, 10, 'photo.png', 'image/png')) };
  } finally {
    await stack.close();
  }
}

test.each([true, false])(
  'enableAttachments %s hands the size to the session, and a session that states none allows no size: maxBytes 0, uploads 422',
  async (enableAttachments) => {
    const seen = await reportAndUpload({
      enableAttachments,
      fileUploadModes: [],
      allowedMedia: { inbound: { fileTypes: [{ type: '*/*' }] } },
    });
    expect(seen).toEqual({
      attachments: expect.objectContaining({ enabled: false, maxBytes: 0 }),
      upload: '422 attachments_disabled',
    });
  },
);

test("a session that lists no types narrows the config's modes to none (Genesys refuses every type then): uploads off, 422", async () => {
  const seen = await reportAndUpload({
    enableAttachments: 'absent',
    fileUploadModes: [{ fileTypes: ['image/png', '*/*'], maxFileSizeKB: 5 }],
    allowedMedia: { inbound: { fileTypes: [] } },
  });
  expect(seen).toEqual({
    attachments: expect.objectContaining({ enabled: false, mediaTypes: [] }),
    upload: '422 attachments_disabled',
  });
});
