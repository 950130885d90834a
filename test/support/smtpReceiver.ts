import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server on loopback for tests (the `smtp-server` package, plain SMTP without TLS), that keeps every
 * e-mail it is given, and reads each one's headers and text body as a mail client would (RFC 5322 unfolding,
 * RFC 2045 quoted-printable and base64), written here rather than with the sending library.
 */

export interface ReceivedEmail {
  /** The envelope's recipients (RCPT TO). */
  to: string[];
  /** Header names in lower case, unfolded. */
  headers: Record<string, string>;
  text: string;
}

export interface SmtpReceiver {
  /** `smtp://127.0.0.1:<port>`. */
  url: string;
  received: ReceivedEmail[];
  /** How many mail transactions began (MAIL FROM), refused ones included. */
  readonly transactions: number;
  /** How many connections a client opened in all, and how many are open now. */
  readonly connections: number;
  readonly open: number;
  /** The e-mails to `address` so far. */
  to(address: string): ReceivedEmail[];
  /** Resolves with the `n`th e-mail (1-based) to `address`. */
  nth(address: string, n: number, timeoutMs?: number): Promise<ReceivedEmail>;
  close(): Promise<void>;
}

export interface SmtpReceiverOptions {
  /**
   * The reply code to refuse the n-th mail transaction (1-based, counted at MAIL FROM) with, as a relay that is
   * busy (421, 451) or that refuses the message for good (550) does; `hang`: never answered (until the client
   * goes); `{ afterMs }`: taken, that long after it was asked; undefined: it is taken.
   */
  refuse?: (transaction: number) => number | 'hang' | { afterMs: number } | undefined;
}

export async function startSmtpReceiver(options: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
  const received: ReceivedEmail[] = [];
  let transactions = 0;
  let connections = 0;
  let open = 0;
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 1024 * 1024,
    onConnect(_session, callback) {
      connections++;
      open++;
      callback();
    },
    onClose() {
      open--;
    },
    onMailFrom(_address, _session, callback) {
      const code = options.refuse?.(++transactions);
      if (code === undefined) return callback();
      if (code === 'hang') return;
      if (typeof code === 'object') return void setTimeout(() => callback(), code.afterMs);
      callback(Object.assign(new Error(`Refused by the test (${code})`), { responseCode: code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), ...parseMessage(Buffer.concat(chunks)) });
        callback();
        for (const w of [...waiters]) w();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string) => received.filter((r) => r.to.includes(address));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    get transactions() {
      return transactions;
    },
    get connections() {
      return connections;
    },
    get open() {
      return open;
    },
    to,
    nth(address, n, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = to(address)[n - 1];
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no e-mail #${n} to ${address} in ${timeoutMs} ms (got ${to(address).length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A single-part message's headers and decoded text. */
function parseMessage(raw: Buffer): Omit<ReceivedEmail, 'to'> {
  const all = raw.toString('latin1');
  const split = all.indexOf('\r\n\r\n');
  const head = all.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = all.slice(split + 4);
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const bytes =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? Buffer.from(
            body
              .replace(/=\r\n/g, '')
              .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          )
        : Buffer.from(body, 'latin1');
  return { headers, text: bytes.toString('utf8').replace(/\r\n/g, '\n') };
}

/** The links (http: or https:) in an e-mail's text, in order. */
export function linksIn(email: ReceivedEmail): string[] {
  return [...email.text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]);
}
