import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Simulator } from '../../simulator';
import { EVENT_WAIT_MS } from './wait';

/**
 * A bare Guest API client for the simulator's tests: raw frames in, raw
 * frames out, nothing of the BFF's own protocol code.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- frames are whatever the server sent */

export type Frame = any;

export class RawGuest {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      }),
    );
  }

  static connect(sim: Simulator, opts: { origin?: string; deploymentId?: string } = {}): Promise<RawGuest> {
    const ws = new WebSocket(`${sim.urls.webMessagingUrl}/v1?deploymentId=${opts.deploymentId ?? sim.deploymentId}`, {
      origin: opts.origin,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawGuest(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next not-yet-consumed frame that matches; earlier non-matching frames stay available. */
  async next(match: (f: Frame) => boolean = () => true, what = 'a frame'): Promise<Frame> {
    const deadline = Date.now() + EVENT_WAIT_MS;
    for (;;) {
      for (let i = this.cursor; i < this.frames.length; i++) {
        if (match(this.frames[i])) {
          // Move the match to the end of the consumed prefix; skipped frames stay pending.
          const [found] = this.frames.splice(i, 1);
          this.frames.splice(this.cursor, 0, found);
          this.cursor += 1;
          return found;
        }
      }
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.frames.slice(this.cursor))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Frames received and not consumed yet. */
  pending(): Frame[] {
    return this.frames.slice(this.cursor);
  }

  /** Sends a frame with a fresh tracingId and waits for the reply that carries it. */
  async request(frame: Record<string, unknown>): Promise<Frame> {
    const tracingId = (frame.tracingId as string | undefined) ?? randomUUID();
    this.send({ ...frame, tracingId });
    return this.next((f) => f.tracingId === tracingId, `the reply to ${String(frame.action)} ${tracingId}`);
  }

  configure(sim: Simulator, token: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    return this.request({ action: 'configureSession', token, deploymentId: sim.deploymentId, ...extra });
  }

  say(token: string, text: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    return this.request({ action: 'onMessage', token, message: { type: 'Text', text, ...extra } });
  }

  /** Round-trips an echo: every frame the server sent before its answer has arrived by then. */
  async sync(token?: string): Promise<void> {
    await this.request({ action: 'echo', token, message: { type: 'Text', text: 'ping' } });
  }

  close(): Promise<unknown> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The HTTP status of a WebSocket handshake: 101 when accepted. */
export function handshakeStatus(url: string, headers: { origin?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin: headers.origin });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

export const isMessage = (direction: 'Inbound' | 'Outbound', type?: string) => (f: Frame) =>
  f.class === 'StructuredMessage' &&
  f.type === 'message' &&
  f.body.direction === direction &&
  (type === undefined || f.body.type === type);

export const isClass = (cls: string) => (f: Frame) => f.class === cls;
