import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

/**
 * CPU profiles of a window of a child process's life, through its inspector
 * (`node --inspect=127.0.0.1:0`): the same V8 sampling profiler as
 * `node --cpu-prof`, started and stopped around the load phase only, so
 * start-up and session setup do not dilute the profile. Files open in
 * Chrome DevTools or with bench/profileSummary.ts.
 */
export class InspectorProfiler {
  private ws?: WebSocket;
  private nextId = 1;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  constructor(private readonly wsUrl: string) {}

  private async connect(): Promise<WebSocket> {
    if (this.ws) return this.ws;
    const ws = new WebSocket(this.wsUrl, { perMessageDeflate: false });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: unknown };
      if (msg.id !== undefined) {
        this.waiting.get(msg.id)?.(msg.error ? Promise.reject(new Error(JSON.stringify(msg.error))) : msg.result);
        this.waiting.delete(msg.id);
      }
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.ws = ws;
    return ws;
  }

  /** Any other DevTools protocol method (the heap probe uses HeapProfiler.*). */
  async call<T = unknown>(method: string, params: object = {}): Promise<T> {
    const ws = await this.connect();
    const id = this.nextId++;
    const result = new Promise<T>((resolve) => this.waiting.set(id, resolve as (r: unknown) => void));
    ws.send(JSON.stringify({ id, method, params }));
    return result;
  }

  async start(): Promise<void> {
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: 500 });
    await this.call('Profiler.start');
  }

  async stop(file: string): Promise<void> {
    const { profile } = await this.call<{ profile: unknown }>('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
  }

  close(): void {
    this.ws?.terminate();
  }
}
