import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { freePort } from './ports';

/** A webhook secret for tests: `whsec_` and base64 of 32 bytes. */
export const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;

export interface Delivery {
  id: string;
  headers: Record<string, string>;
  /** The raw body, as signed. */
  raw: string;
  body: {
    type: string;
    timestamp: string;
    deployment: string;
    chat: { id: string; sequence: number };
    data: Record<string, unknown>;
  };
  /** The status the receiver answered it with. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every delivery that reached it, in arrival order, whatever it answered. */
  received: Delivery[];
  /** Why each delivery that failed standardwebhooks' verification failed (answered 400, not recorded). */
  unverified: string[];
  /** Those answered 2xx. */
  accepted(): Delivery[];
  /** The status it answers with from now on (default 204); 0 holds each request open, unanswered. */
  answer(status: number): void;
  /** Stops listening (connections are refused) until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A webhook receiver on loopback at a port chosen at run time: it verifies each delivery's signature with
 * standardwebhooks (a delivery that fails verification fails the test through `received`), records it and
 * answers the status set.
 */
export async function startWebhookReceiver(secret = WEBHOOK_SECRET): Promise<WebhookReceiver> {
  const port = await freePort();
  const verifier = new Webhook(secret);
  const received: Delivery[] = [];
  const unverified: string[] = [];
  let status = 204;
  let server: http.Server | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers = Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
          );
          // Throws on a bad signature or a stale timestamp: recorded as a failed verification.
          let body: Delivery['body'];
          try {
            body = verifier.verify(raw, headers) as Delivery['body'];
          } catch (error) {
            unverified.push(String(error));
            res.writeHead(400).end();
            return;
          }
          received.push({ id: headers['webhook-id']!, headers, raw, body, status });
          // 0: held open unanswered, until the sender gives up or the receiver stops.
          if (status !== 0) res.writeHead(status).end();
        });
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      server = undefined;
    });
  await start();
  return {
    url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hooks`,
    received,
    unverified,
    accepted: () => received.filter((d) => d.status >= 200 && d.status < 300),
    answer: (s) => {
      status = s;
    },
    stop,
    start,
    close: stop,
  };
}
