import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Outcome } from './load';

export interface ServerFrame {
  type?: string;
  class?: string;
  code?: number;
  body?: unknown;
  tracingId?: string;
}

/**
 * The floor: a bare Guest API client on a raw WebSocket straight to the
 * simulator, doing the least any client must (configureSession, then
 * onMessage frames matched to their echo by tracingId; getJwt). The frames
 * have the same shape the service sends (src/genesys/guest/protocol/frames.ts).
 */
export class RawGuest {
  private ws!: WebSocket;
  private readonly waiting = new Map<string, (frame: ServerFrame) => void>();
  readonly token = randomUUID();

  constructor(
    private readonly webMessagingUrl: string,
    private readonly deploymentId: string,
    private readonly origin: string,
  ) {}

  connect(): Promise<void> {
    this.ws = new WebSocket(`${this.webMessagingUrl}/v1?deploymentId=${encodeURIComponent(this.deploymentId)}`, {
      origin: this.origin,
      perMessageDeflate: false,
    });
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      const id = frame.tracingId;
      if (id === undefined) return;
      const waiter = this.waiting.get(id);
      if (waiter) {
        this.waiting.delete(id);
        waiter(frame);
      }
    });
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Sends a frame as this session and resolves with the reply that carries its tracingId. */
  call(frame: Record<string, unknown>, timeoutMs = 10_000): Promise<ServerFrame> {
    const tracingId = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(tracingId);
        reject(new Error('timeout'));
      }, timeoutMs);
      this.waiting.set(tracingId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.ws.send(JSON.stringify({ ...frame, token: this.token, tracingId }));
    });
  }

  async configure(): Promise<void> {
    const reply = await this.call({
      action: 'configureSession',
      deploymentId: this.deploymentId,
      startNew: false,
      journeyContext: { customer: { id: this.token, idType: 'cookie' }, customerSession: { id: '', type: 'web' } },
    });
    if (reply.class !== 'SessionResponse') throw new Error(`configureSession answered ${JSON.stringify(reply)}`);
  }

  /** One guest text; 'ok' when Genesys echoes it. */
  async send(text: string): Promise<Outcome> {
    const reply = await this.call({
      action: 'onMessage',
      message: { type: 'Text', text, metadata: { id: randomUUID() } },
    });
    return reply.class === 'StructuredMessage' ? 'ok' : `ws ${reply.code ?? reply.class}`;
  }

  async getJwt(): Promise<string> {
    const reply = await this.call({ action: 'getJwt' });
    const body = reply.body as { jwt?: string } | undefined;
    if (!body?.jwt) throw new Error(`getJwt answered ${JSON.stringify(reply)}`);
    return body.jwt;
  }

  close(): void {
    this.ws.terminate();
  }
}
