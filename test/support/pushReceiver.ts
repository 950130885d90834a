import { createECDH, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify } from 'jose';

/**
 * A push service on loopback for tests, and a browser's side of Web Push written here from the RFCs with
 * node:crypto alone: the subscription's keys (ECDH P-256, a 16-byte auth secret), the RFC 8291 `aes128gcm`
 * decryption and the RFC 8292 VAPID check. It is the oracle the service's pushes (made with the `web-push`
 * package) are judged by, so it shares no code with them.
 */

export interface ReceivedPush {
  path: string;
  /** When its body had arrived (epoch ms). */
  at: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface PushReceiver {
  origin: string;
  received: ReceivedPush[];
  /**
   * The status the next requests are answered with (201 unless set), with `headers`; `never`: taken, and never
   * answered.
   */
  answerWith(status: number | 'never', headers?: Record<string, string>): void;
  /** Resolves with the `n`th request (1-based) to `path`. */
  nth(path: string, n: number, timeoutMs?: number): Promise<ReceivedPush>;
  close(): Promise<void>;
}

export async function startPushReceiver(): Promise<PushReceiver> {
  const received: ReceivedPush[] = [];
  const waiters = new Set<() => void>();
  let status: number | 'never' = 201;
  let answerHeaders: Record<string, string> = {};
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', at: Date.now(), headers: req.headers, body: Buffer.concat(chunks) });
      if (status !== 'never') {
        res.statusCode = status;
        for (const [name, value] of Object.entries(answerHeaders)) res.setHeader(name, value);
        res.end();
      }
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    answerWith: (s, headers = {}) => {
      status = s;
      answerHeaders = headers;
    },
    nth(path, n, timeoutMs = 30_000) {
      const find = () => received.filter((r) => r.path === path)[n - 1];
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = find();
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no push #${n} to ${path}; got ${received.map((r) => r.path).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A browser's subscription keys: its ECDH P-256 pair and its 16-byte authentication secret. */
export interface BrowserKeys {
  ecdh: ReturnType<typeof createECDH>;
  p256dh: string;
  auth: string;
}

export function browserKeys(): BrowserKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

const hmac = (key: Buffer, ...data: Buffer[]) => {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/**
 * RFC 8291 section 3.4 and RFC 8188: the plaintext of an `aes128gcm` body of one record, for the browser whose keys
 * are `keys`. Throws when the body is not one (the tag does not verify, the padding delimiter is missing).
 */
export function decryptPush(body: Buffer, keys: BrowserKeys): string {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  if (idlen !== 65 || rs < 18 || ciphertext.length > rs) throw new Error('not a one-record aes128gcm body');
  const uaPublic = keys.ecdh.getPublicKey();
  const ecdhSecret = keys.ecdh.computeSecret(asPublic);
  const authSecret = Buffer.from(keys.auth, 'base64url');
  // HKDF-Extract(auth_secret, ecdh_secret), then Expand with "WebPush: info" || 0 || ua_public || as_public, L=32.
  const prkKey = hmac(authSecret, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, keyInfo, Buffer.from([1]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0'), Buffer.from([1])).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0'), Buffer.from([1])).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record: data, then the delimiter 2, then zero or more zeros.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/**
 * RFC 8292: the request's `Authorization: vapid t=<JWT>, k=<public key>` names `vapidPublicKey`, and the JWT is
 * ES256-signed by it, for `audience` (the push service's origin), not expired. Answers the JWT's claims.
 */
export async function verifyVapid(
  headers: http.IncomingHttpHeaders,
  vapidPublicKey: string,
  audience: string,
): Promise<Record<string, unknown>> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(headers.authorization ?? '');
  if (!match) throw new Error(`not a vapid Authorization header: ${headers.authorization}`);
  if (match[2] !== vapidPublicKey) throw new Error('the header names another public key');
  const point = Buffer.from(vapidPublicKey, 'base64url');
  const key = await importJWK(
    {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    'ES256',
  );
  const { payload } = await jwtVerify(match[1]!, key, { algorithms: ['ES256'], audience });
  return payload as Record<string, unknown>;
}

/** A VAPID pair made with node:crypto: an uncompressed P-256 public key and its 32-byte private key, base64url. */
export function vapidPair(): { publicKey: string; privateKey: string } {
  for (let tries = 0; tries < 16; tries++) {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const privateKey = ecdh.getPrivateKey();
    if (privateKey.length === 32)
      return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
  }
  throw new Error('no 32-byte private key in 16 tries');
}
