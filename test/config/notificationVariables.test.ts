import { createECDH } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config/schema';
import { vapidPairProblem } from '../../src/config/notificationVariables';
import { testEnv } from '../support/app';
import { vapidPair } from '../support/pushReceiver';

/** The Web Push settings of the single-deployment variables: a VAPID pair, whole or not at all. */
const PUBLIC = 'BKNbmwIznlykH9q9Bv3ZKh_biNbbJo_LpgyoXLgdtYDODedI3Ba2pv42JIcT1DCVOYWtngW1oooL8Z4ODUo5T8k';
const PRIVATE = 'i5ddqel5FYN5bUju3ZxVlb-D0QbHFJfIy_W8NCBfkFk';
/** The private key of another pair. */
const OTHER_PRIVATE = 'Yd8Chez5G4NFbnvL9E2rPr8cUUPWAi91q1P1eKoZ7-I';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(testEnv(env));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('VAPID variables', () => {
  it('turn Web Push on when all three are given', () => {
    const config = loadConfig(
      testEnv({ VAPID_PUBLIC_KEY: PUBLIC, VAPID_PRIVATE_KEY: PRIVATE, VAPID_SUBJECT: 'https://shop.example.com/ops' }),
    );
    expect(config.deployments[0]!.notifications).toEqual({
      push: { publicKey: PUBLIC, privateKey: PRIVATE, subject: 'https://shop.example.com/ops' },
      afterMs: 60_000,
      preview: false,
    });
  });

  it('leave it off when none is given', () => {
    expect(loadConfig(testEnv()).deployments[0]!.notifications.push).toBeUndefined();
  });

  it.each([
    [{ VAPID_PUBLIC_KEY: PUBLIC }, /VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT together/],
    [
      { VAPID_PUBLIC_KEY: PUBLIC, VAPID_PRIVATE_KEY: OTHER_PRIVATE, VAPID_SUBJECT: 'mailto:a@b.c' },
      /not the public key/,
    ],
    [{ VAPID_PUBLIC_KEY: 'abc', VAPID_PRIVATE_KEY: PRIVATE, VAPID_SUBJECT: 'mailto:a@b.c' }, /uncompressed P-256/],
    [
      { VAPID_PUBLIC_KEY: PUBLIC, VAPID_PRIVATE_KEY: PRIVATE, VAPID_SUBJECT: 'http://x.example' },
      /mailto: address or an https: URL/,
    ],
    [{ NOTIFY_AFTER_SECONDS: '0' }, /NOTIFY_AFTER_SECONDS must be a whole number from 1/],
  ])('refuse %j', (env, expected) => {
    const found = problems(env);
    expect(found.some((p) => expected.test(p))).toBe(true);
    // A secret never appears in a problem.
    expect(found.join('\n')).not.toContain(PRIVATE);
  });
});

describe('e-mail variables', () => {
  it('turn e-mail on when SMTP_URL and EMAIL_FROM are given, with their defaults', () => {
    const config = loadConfig(
      testEnv({ SMTP_URL: 'smtps://u:secret-pass@relay.example.com:465', EMAIL_FROM: 'c@x.org' }),
    );
    expect(config.deployments[0]!.notifications.email).toEqual({
      smtpUrl: 'smtps://u:secret-pass@relay.example.com:465',
      from: 'c@x.org',
      afterMs: 900_000,
      preview: false,
      dailyMax: 10,
    });
  });

  it('leave it off when neither is given', () => {
    expect(loadConfig(testEnv()).deployments[0]!.notifications.email).toBeUndefined();
  });

  it.each([
    [{ SMTP_URL: 'smtps://u:secret-pass@relay.example.com' }, /SMTP_URL and EMAIL_FROM together/],
    [{ EMAIL_FROM: 'c@x.org' }, /SMTP_URL and EMAIL_FROM together/],
    [{ SMTP_URL: 'https://u:secret-pass@relay.example.com', EMAIL_FROM: 'c@x.org' }, /smtps:\/\/ or smtp:\/\/ URL/],
    [{ SMTP_URL: 'smtp://relay.example.com', EMAIL_FROM: 'nobody' }, /EMAIL_FROM must be an address/],
    [{ EMAIL_AFTER_SECONDS: '0' }, /EMAIL_AFTER_SECONDS must be a whole number from 1/],
    [{ EMAIL_DAILY_MAX: '1001' }, /EMAIL_DAILY_MAX must be a whole number from 1/],
  ])('refuse %j', (env, expected) => {
    const found = problems(env);
    expect(found.some((p) => expected.test(p))).toBe(true);
    // The relay's credentials never appear in a problem.
    expect(found.join('\n')).not.toContain('secret-pass');
  });
});

describe('a VAPID pair', () => {
  const PUBLIC_PROBLEM = 'must be an uncompressed P-256 public key, base64url (87 characters)';
  const PRIVATE_PROBLEM = 'must be a P-256 private key, base64url (43 characters)';

  it('is taken when the public key is the private key’s', () => {
    for (let i = 0; i < 5; i++) {
      const { publicKey, privateKey } = vapidPair();
      expect(vapidPairProblem(publicKey, privateKey)).toBeUndefined();
    }
  });

  it('refuses a public key of the wrong length or not uncompressed, before looking at the private key', () => {
    const { publicKey, privateKey } = vapidPair();
    const bytes = Buffer.from(publicKey, 'base64url');
    expect(vapidPairProblem(bytes.subarray(0, 64).toString('base64url'), privateKey)).toBe(PUBLIC_PROBLEM);
    expect(vapidPairProblem(Buffer.concat([bytes, Buffer.of(0)]).toString('base64url'), privateKey)).toBe(
      PUBLIC_PROBLEM,
    );
    const compressedMark = Buffer.from(bytes);
    compressedMark[0] = 3;
    expect(vapidPairProblem(compressedMark.toString('base64url'), privateKey)).toBe(PUBLIC_PROBLEM);
    expect(vapidPairProblem(compressedMark.toString('base64url'), 'x')).toBe(PUBLIC_PROBLEM);
  });

  it('refuses a private key of the wrong length, or one that is no P-256 key', () => {
    const { publicKey, privateKey } = vapidPair();
    const bytes = Buffer.from(privateKey, 'base64url');
    expect(vapidPairProblem(publicKey, bytes.subarray(0, 31).toString('base64url'))).toBe(PRIVATE_PROBLEM);
    expect(vapidPairProblem(publicKey, Buffer.concat([bytes, Buffer.of(1)]).toString('base64url'))).toBe(
      PRIVATE_PROBLEM,
    );
    // Zero is no private key of the curve: the library refuses it.
    expect(vapidPairProblem(publicKey, Buffer.alloc(32).toString('base64url'))).toBe(PRIVATE_PROBLEM);
  });

  it('takes a private key whose first byte is zero, written whole (32 bytes, as web-push makes it), not shortened', () => {
    const scalar = Buffer.concat([Buffer.of(0), Buffer.alloc(31, 0x5a)]);
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(scalar);
    const publicKey = ecdh.getPublicKey('base64url');
    expect(vapidPairProblem(publicKey, scalar.toString('base64url'))).toBeUndefined();
    // node:crypto's getPrivateKey() drops the leading zero: 31 bytes, which web-push refuses too.
    expect(vapidPairProblem(publicKey, ecdh.getPrivateKey().toString('base64url'))).toBe(PRIVATE_PROBLEM);
  });

  it('refuses two keys of different pairs', () => {
    expect(vapidPairProblem(vapidPair().publicKey, vapidPair().privateKey)).toBe(
      'is not the public key of the private key given with it',
    );
  });
});

describe('the history watch variables', () => {
  it('take the longest wait between reads as at least the first, however they are given', () => {
    const watch = (env: Record<string, string>) => loadConfig(testEnv(env)).process.notifyWatch;
    expect(watch({ NOTIFY_POLL_SECONDS: '3', NOTIFY_POLL_MAX_SECONDS: '40' })).toMatchObject({
      pollMs: 3000,
      pollMaxMs: 40_000,
    });
    expect(watch({ NOTIFY_POLL_SECONDS: '30', NOTIFY_POLL_MAX_SECONDS: '10' })).toMatchObject({
      pollMs: 30_000,
      pollMaxMs: 30_000,
    });
  });
});
