import { GuestApiError } from '../../../src/genesys/guest/protocol/errors';
import type { SessionHub } from '../../../src/genesys/guest/sessionHub';
import { limitsRefused } from '../../../src/observability/metrics';
import { GuestAttachments } from '../../../src/session/attachments/attachments';
import { DownloadUrls } from '../../../src/session/attachments/downloadUrls';
import { UploadSlots } from '../../../src/session/attachments/uploadSlots';
import { GuestInputMask } from '../../../src/session/masking/guestInputMask';
import type { SessionClaims, SessionTokens } from '../../../src/session/tokens/sessionToken';

/**
 * The upload slots (src/session/attachments/uploadSlots.ts: one per session, a share per client address, a ceiling
 * per instance that every deployment's attachments share), each refusal with its Retry-After and its metric, as
 * GuestAttachments (attachments.ts) takes them over stand-ins for the session hub and tokens; and when a link falls
 * back to the last URL Genesys gave.
 */
type GuestFailure = ConstructorParameters<typeof GuestApiError>[0];
const claims = (guestToken: string) => ({ guestToken, origin: 'https://shop.example.com' }) as SessionClaims;

function attachments(
  options: {
    freshUrl?: () => Promise<string>;
    upload?: () => Promise<{ attachmentId: string; downloadUrl?: string }>;
    slots?: UploadSlots;
  } = {},
) {
  const session = {
    attachments: {
      freshUrl: options.freshUrl ?? (async () => 'https://files.example.com/new'),
      upload: options.upload ?? (async () => ({ attachmentId: 'a1', downloadUrl: 'https://files.example.com/first' })),
    },
  };
  const hub = { session: () => session } as unknown as SessionHub;
  const tokens = { attachmentLink: () => 'sealed' } as unknown as SessionTokens;
  return new GuestAttachments({
    hub,
    tokens,
    limits: async () => ({}) as never,
    slots: options.slots ?? new UploadSlots({ max: 3, perIp: 2 }),
    urls: new DownloadUrls(() => Date.UTC(2026, 10, 25)),
  });
}

async function refusals(limit: string): Promise<number> {
  return (await limitsRefused.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

test('one file at a time per session: a second upload is refused with Retry-After 2 and counted, until the first is done', async () => {
  const a = attachments();
  const before = await refusals('uploads_in_flight');
  const release = a.reserve(claims('s1'), '10.0.0.1');
  expect(() => a.reserve(claims('s1'), '10.0.0.9')).toThrow(
    expect.objectContaining({
      code: 'rate_limited',
      retryAfterSeconds: 2,
      message: expect.stringMatching(/one file at a time/),
    }),
  );
  expect(await refusals('uploads_in_flight')).toBe(before + 1);
  release();
  expect(() => a.reserve(claims('s1'), '10.0.0.1')).not.toThrow();
});

test('one client address holds at most its share of the slots; released ones (once each) can be taken again', async () => {
  const a = attachments();
  const before = await refusals('uploads_per_ip');
  const first = a.reserve(claims('s1'), '10.0.0.1');
  a.reserve(claims('s2'), '10.0.0.1');
  expect(() => a.reserve(claims('s3'), '10.0.0.1')).toThrow(
    expect.objectContaining({
      code: 'rate_limited',
      retryAfterSeconds: 5,
      message: expect.stringMatching(/At most 2 uploads at once from one address/),
    }),
  );
  expect(await refusals('uploads_per_ip')).toBe(before + 1);
  first();
  first();
  const third = a.reserve(claims('s3'), '10.0.0.1');
  // A second call of the first release freed nothing more: the address is at its share again.
  expect(() => a.reserve(claims('s4'), '10.0.0.1')).toThrow(expect.objectContaining({ retryAfterSeconds: 5 }));
  third();
  expect(() => a.reserve(claims('s4'), '10.0.0.1')).not.toThrow();
});

test('an instance runs at most its ceiling of uploads at once, from any addresses', async () => {
  const a = attachments();
  const before = await refusals('uploads_in_flight');
  const releases = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip, i) => a.reserve(claims(`s${i}`), ip));
  expect(() => a.reserve(claims('s9'), '10.0.0.9')).toThrow(
    expect.objectContaining({
      code: 'rate_limited',
      retryAfterSeconds: 5,
      message: expect.stringMatching(/busy uploading/),
    }),
  );
  expect(await refusals('uploads_in_flight')).toBe(before + 1);
  releases[0]!();
  expect(() => a.reserve(claims('s9'), '10.0.0.9')).not.toThrow();
});

test('the ceiling and the per-address share hold across deployments: their attachments share one set of slots', () => {
  const slots = new UploadSlots({ max: 3, perIp: 2 });
  const [shop, clinic] = [attachments({ slots }), attachments({ slots })];
  shop.reserve(claims('s1'), '10.0.0.1');
  expect(() => clinic.reserve(claims('s2'), '10.0.0.1')).not.toThrow();
  // The address has its share from the two deployments together; the instance its ceiling.
  expect(() => clinic.reserve(claims('s3'), '10.0.0.1')).toThrow(expect.objectContaining({ retryAfterSeconds: 5 }));
  shop.reserve(claims('s4'), '10.0.0.2');
  expect(() => clinic.reserve(claims('s5'), '10.0.0.3')).toThrow(
    expect.objectContaining({ message: expect.stringMatching(/busy uploading/) }),
  );
});

describe('a link whose URL has expired', () => {
  async function afterRefusal(failure: GuestFailure): Promise<unknown> {
    let call = 0;
    const a = attachments({
      upload: async () => ({ attachmentId: 'a1', downloadUrl: 'https://files.example.com/first?Expires=1' }),
      freshUrl: async () => {
        call += 1;
        throw new GuestApiError(failure, 'no');
      },
    });
    await a.upload(
      claims('s1'),
      { fileName: 'a.png', mediaType: 'image/png', size: 1 } as never,
      'https://bff.example.com',
    );
    return a.freshUrl(claims('s1'), 'a1').catch((error: unknown) => ({ error, call }));
  }

  test('falls back to the last URL Genesys gave when Genesys refuses or fails to sign another', async () => {
    for (const failure of ['bad_request', 'forbidden', 'unavailable'] as GuestFailure[]) {
      expect(await afterRefusal(failure)).toBe('https://files.example.com/first?Expires=1');
    }
  });

  test('but not when the session is over, Genesys asks to wait, or the store could not count the request', async () => {
    for (const failure of ['session_expired', 'rate_limited', 'store_unavailable'] as GuestFailure[]) {
      expect(await afterRefusal(failure)).toEqual({ error: expect.objectContaining({ failure }), call: 1 });
    }
  });
});

test("a link carries the session's routing key when it has one, so a proxy hashing on it finds the session's instance", () => {
  const files = attachments();
  expect(files.link({ ...claims('s1'), routingKey: 'rk-0123456789abcdefghij' }, 'a 1', 'https://bff.example')).toBe(
    'https://bff.example/attachments/a%201/content?routingKey=rk-0123456789abcdefghij&link=sealed',
  );
  expect(files.link(claims('s1'), 'a1', 'https://bff.example')).toBe(
    'https://bff.example/attachments/a1/content?link=sealed',
  );
});

test("a file's name reaches Genesys masked, and the streams hear which detector hid it; a name with none, no notice", async () => {
  const names: string[] = [];
  const notices: unknown[] = [];
  let next = 0;
  const session = {
    attachments: {
      upload: async (file: { fileName: string }) => {
        names.push(file.fileName);
        return { attachmentId: `a${++next}` };
      },
    },
    notice: (event: unknown) => void notices.push(event),
  };
  const files = new GuestAttachments({
    hub: { session: () => session } as unknown as SessionHub,
    tokens: { attachmentLink: () => 'sealed' } as unknown as SessionTokens,
    limits: async () => ({}) as never,
    slots: new UploadSlots({ max: 3, perIp: 2 }),
    urls: new DownloadUrls(() => Date.UTC(2026, 10, 25)),
    mask: new GuestInputMask({ mode: 'mask', builtIn: ['card'], patterns: [] }),
  });
  const file = (fileName: string) => ({ fileName, mediaType: 'image/png', size: 1, open: () => undefined as never });
  const shown = await files.upload(claims('s1'), file('card 4111111111111111.png'), 'https://bff.example');
  await files.upload(claims('s1'), file('photo.png'), 'https://bff.example');
  expect(names).toEqual([shown.fileName, 'photo.png']);
  expect(shown.fileName).not.toContain('4111111111111111');
  expect(shown.fileName.endsWith('1111.png')).toBe(true);
  expect(notices).toEqual([{ type: 'notice', code: 'masked', detectors: ['card'], attachmentId: 'a1' }]);
});
