import { createHash, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { AppError } from '../http/problem';

/**
 * Sealed tokens handed to browsers: JWE (`dir` + A256GCM), so they are
 * encrypted and authenticated and the browser can read nothing in them.
 * Keys are derived from SESSION_SECRET with HKDF; with a comma-separated
 * list the first key seals and every key unseals (rotation). The `kid`
 * names the key without revealing it.
 */
export interface SealedKey {
  kid: string;
  key: Uint8Array;
}

const PURPOSE = 'genesys-messaging-bff sealed token v1';

export function deriveKeys(secrets: readonly string[]): SealedKey[] {
  return secrets.map((secret) => {
    const key = new Uint8Array(hkdfSync('sha256', secret, PURPOSE, 'A256GCM', 32));
    const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
    return { kid, key };
  });
}

export class Sealer {
  private readonly byKid: Map<string, Uint8Array>;

  constructor(private readonly keys: readonly SealedKey[]) {
    if (keys.length === 0) throw new Error('Sealer needs at least one key');
    this.byKid = new Map(keys.map((k) => [k.kid, k.key]));
  }

  async seal(payload: object): Promise<string> {
    const current = this.keys[0]!;
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: current.kid })
      .encrypt(current.key);
  }

  /** The payload, or an `unauthorized` error for anything tampered, foreign or malformed. */
  async unseal(token: string): Promise<unknown> {
    const refuse = () => new AppError('unauthorized', 'The session token is not valid; start a new session.');
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw refuse();
    }
    const key = typeof kid === 'string' ? this.byKid.get(kid) : undefined;
    if (!key) throw refuse();
    try {
      const { plaintext } = await compactDecrypt(token, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      return JSON.parse(new TextDecoder().decode(plaintext));
    } catch {
      throw refuse();
    }
  }
}
