import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { AppError } from '../../domain/errors';

/**
 * Sealed tokens handed to browsers: JWE (`dir` + A256GCM), so they are
 * encrypted and authenticated and the browser can read nothing in them.
 * Keys are derived from SESSION_SECRET with HKDF; with a comma-separated
 * list the first key seals and every key unseals (rotation). The `kid`
 * names the key without revealing it.
 *
 * The compact JWE (RFC 7516 §7.1: header..iv.ciphertext.tag, the protected
 * header as AAD) is written with node:crypto directly: this runs on every
 * authenticated request and response, and going through WebCrypto (jose)
 * cost about a fifth of the service's CPU per request (bench/README.md).
 * The format is unchanged; tokens sealed by either implementation open
 * with the other.
 */
interface SealedKey {
  kid: string;
  key: Uint8Array;
}

const PURPOSE = 'genesys-messaging-bff sealed token v1';

/**
 * The keys of `secrets` for a deployment: each deployment seals with keys of its own, so its tokens open nowhere
 * else. The deployment named `default` (undefined here) keeps the keys the single-deployment variables have always
 * had, so its chats survive the move to a deployments file.
 */
export function deriveKeys(secrets: readonly string[], deployment?: string): SealedKey[] {
  const info = deployment === undefined ? 'A256GCM' : `A256GCM deployment:${deployment}`;
  return secrets.map((secret) => {
    const key = new Uint8Array(hkdfSync('sha256', secret, PURPOSE, info, 32));
    const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
    return { kid, key };
  });
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The key id in a sealed token's header, read without opening it: it names the key (and so the deployment) that
 * sealed it. Undefined for anything that is not a token's shape; whether the token is genuine is unseal's to say.
 */
export function keyIdOf(token: string): string | undefined {
  const header = token.slice(0, token.indexOf('.'));
  if (header === '' || header.length > 200 || !BASE64URL.test(header)) return undefined;
  try {
    const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fresh random 96-bit IVs, drawn from the CSPRNG a batch at a time (as
 * crypto.randomUUID does): one call per 1,024 seals instead of one per seal,
 * which showed in the profile. A used batch is dropped, never refilled, so
 * every IV handed out stays as it was.
 */
const IV_BYTES = 12;
const IV_BATCH = 1024;
let ivBatch = Buffer.alloc(0);
let ivOffset = 0;
function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivBatch.length) {
    ivBatch = randomBytes(IV_BYTES * IV_BATCH);
    ivOffset = 0;
  }
  const iv = ivBatch.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

export class Sealer {
  private readonly byKid: Map<string, KeyObject>;
  private readonly sealKey: KeyObject;
  /** BASE64URL(UTF8(protected header)) of the sealing key; also the AAD. */
  private readonly sealHeader: string;

  constructor(private readonly keys: readonly SealedKey[]) {
    if (keys.length === 0) throw new Error('Sealer needs at least one key');
    this.byKid = new Map(keys.map((k) => [k.kid, createSecretKey(k.key)]));
    this.sealKey = this.byKid.get(keys[0]!.kid)!;
    this.sealHeader = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: keys[0]!.kid }), 'utf8').toString(
      'base64url',
    );
  }

  async seal(payload: object): Promise<string> {
    return this.sealSync(payload);
  }

  sealSync(payload: object): string {
    const iv = nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    cipher.setAAD(Buffer.from(this.sealHeader, 'ascii'));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'));
    return `${this.sealHeader}..${parts.join('.')}`;
  }

  /** The payload, or an `unauthorized` error for anything tampered, foreign or malformed. */
  async unseal(token: string): Promise<unknown> {
    return this.unsealSync(token);
  }

  unsealSync(token: string): unknown {
    const refuse = () => new AppError('unauthorized', 'The session token is not valid; start a new session.');
    const parts = token.split('.');
    // dir: the encrypted key is empty; every other part is strict base64url.
    if (parts.length !== 5 || parts[1] !== '' || !parts.every((part) => BASE64URL.test(part))) throw refuse();
    const [encodedHeader, , encodedIv, encodedCiphertext, encodedTag] = parts as [
      string,
      string,
      string,
      string,
      string,
    ];
    // Whatever fails below is refused alike: a header that is not JSON
    // (or is JSON null) throws, as does a tag that is not 16 bytes.
    try {
      const { alg, enc, kid, ...other } = JSON.parse(
        Buffer.from(encodedHeader, 'base64url').toString('utf8'),
      ) as Record<string, unknown>;
      // Only what this service writes: no crit, zip or other parameters to honour.
      if (alg !== 'dir' || enc !== 'A256GCM' || typeof kid !== 'string' || Object.keys(other).length > 0)
        throw refuse();
      const key = this.byKid.get(kid);
      const iv = Buffer.from(encodedIv, 'base64url');
      if (!key || iv.length !== IV_BYTES) throw refuse();
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
      decipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
      decipher.setAuthTag(Buffer.from(encodedTag, 'base64url'));
      const plaintext = Buffer.concat([decipher.update(Buffer.from(encodedCiphertext, 'base64url')), decipher.final()]);
      return JSON.parse(plaintext.toString('utf8'));
    } catch {
      throw refuse();
    }
  }
}
