import { EventEmitter } from 'node:events';
import type { Response } from 'express';

/** The most message ids a witness remembers (a canary's conversation holds a handful). */
const MAX_IDS = 64;
/** The most of an unfinished event a witness holds: a stream's events are far smaller. */
const MAX_PENDING_CHARS = 256 * 1024;

/**
 * The reading end of a live stream (GET /messages/stream) the canary serves itself: LiveStreams writes its
 * Server-Sent Events here as it writes them to a customer's response, and the canary reads back which messages
 * reached it. Only what LiveStreams uses of an Express response is here.
 */
export class StreamWitness {
  destroyed = false;
  readonly writableLength = 0;
  readonly writableNeedDrain = false;
  readonly socket = undefined;
  private readonly events = new EventEmitter();
  private pending = '';
  private readonly seen = new Set<string>();
  private readonly waiting = new Map<string, () => void>();

  /** As LiveStreams takes it. */
  get response(): Response {
    return this as unknown as Response;
  }

  status(): this {
    return this;
  }

  setHeaders(): this {
    return this;
  }

  setHeader(): this {
    return this;
  }

  flushHeaders(): void {}

  on(event: string, listener: () => void): this {
    this.events.on(event, listener);
    return this;
  }

  write(chunk: string): boolean {
    if (this.destroyed) return false;
    this.pending = (this.pending + chunk).slice(-MAX_PENDING_CHARS);
    let end: number;
    while ((end = this.pending.indexOf('\n\n')) >= 0) {
      this.read(this.pending.slice(0, end));
      this.pending = this.pending.slice(end + 2);
    }
    return true;
  }

  end(): void {
    this.close();
  }

  /** The reader leaves (a customer closing the page): LiveStreams lets the stream go. */
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.events.emit('close');
    this.events.removeAllListeners();
  }

  /** Resolves once a `message` event with this id came, or at once if it has; rejects after `waitMs`. */
  sawMessage(id: string, waitMs: number): Promise<void> {
    if (this.seen.has(id)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the answer did not reach the live stream within ${waitMs} ms`));
      }, waitMs);
      this.waiting.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private read(block: string): void {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice('event: '.length);
      else if (line.startsWith('data: ')) data += line.slice('data: '.length);
    }
    if (event !== 'message' || data === '') return;
    let id: unknown;
    try {
      id = (JSON.parse(data) as { id?: unknown }).id;
    } catch {
      return;
    }
    if (typeof id !== 'string') return;
    if (this.seen.size >= MAX_IDS) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(id);
    this.waiting.get(id)?.();
    this.waiting.delete(id);
  }
}
