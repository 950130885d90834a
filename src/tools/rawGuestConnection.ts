import WebSocket from 'ws';
import { GuestSocket } from '../genesys/guest';
import type { Exchange, Frame, RunSocket, VerifyTarget } from './verifyRun';

/** A raw Guest API connection that keeps every frame, so the shapes themselves can be inspected. */
export class RawConnection implements RunSocket {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(
    private readonly ws: WebSocket,
    private readonly log: Exchange[],
  ) {
    ws.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        frame = { class: '(not JSON)' };
      }
      this.frames.push(frame);
      log.push({ kind: 'frame-in', data: frame });
      this.wake();
    });
    ws.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(target: VerifyTarget, log: Exchange[], timeoutMs: number): Promise<RawConnection> {
    const ws = new WebSocket(GuestSocket.urlFor(target.webMessagingUrl, target.deploymentId), {
      origin: target.origin,
      handshakeTimeout: timeoutMs,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawConnection(ws, log)));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`the WebSocket handshake was refused with HTTP ${res.statusCode}`)),
      );
      ws.once('error', reject);
    });
  }

  send(frame: object): void {
    this.log.push({ kind: 'frame-out', data: frame });
    this.ws.send(JSON.stringify(frame));
  }

  async next(match: (f: Frame) => boolean, from: number, timeoutMs: number): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found || this.closed) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
