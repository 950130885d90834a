import type { TokenStore } from '../../client/src';

/**
 * A browser's tabs of one site, in one test process: a BroadcastChannel whose messages reach the
 * site's other channel objects (copied, a task later, as a browser delivers them) and a Web Locks
 * LockManager that grants each lock to one holder at a time, first asked first served.
 */
export function fakeTabs(): { BroadcastChannel: typeof BroadcastChannel; locks: LockManager; settle(): Promise<void> } {
  const channels = new Set<FakeChannel>();

  class FakeChannel extends EventTarget {
    onmessage: ((event: MessageEvent) => void) | null = null;
    constructor(readonly name: string) {
      super();
      channels.add(this);
    }
    postMessage(data: unknown): void {
      const copy = JSON.stringify(data);
      for (const other of channels) {
        if (other === this || other.name !== this.name) continue;
        setTimeout(() => {
          if (channels.has(other)) other.onmessage?.(new MessageEvent('message', { data: JSON.parse(copy) }));
        }, 0);
      }
    }
    close(): void {
      channels.delete(this);
    }
  }

  interface Waiter {
    run: () => Promise<unknown>;
    signal?: AbortSignal;
    done: (value: unknown) => void;
    failed: (error: unknown) => void;
  }
  const held = new Set<string>();
  const queues = new Map<string, Waiter[]>();
  const grant = (name: string) => {
    if (held.has(name)) return;
    const next = queues.get(name)?.shift();
    if (!next) return;
    held.add(name);
    Promise.resolve()
      .then(next.run)
      .then(next.done, next.failed)
      .finally(() => {
        held.delete(name);
        grant(name);
      });
  };
  const locks = {
    request(name: string, ...rest: unknown[]): Promise<unknown> {
      const run = rest[rest.length - 1] as () => Promise<unknown>;
      const signal = rest.length > 1 ? (rest[0] as { signal?: AbortSignal }).signal : undefined;
      return new Promise((done, failed) => {
        const waiter: Waiter = { run, signal, done, failed };
        const queue = queues.get(name) ?? [];
        queues.set(name, queue);
        queue.push(waiter);
        signal?.addEventListener('abort', () => {
          const at = queue.indexOf(waiter);
          if (at < 0) return;
          queue.splice(at, 1);
          failed(new DOMException('aborted', 'AbortError'));
        });
        grant(name);
      });
    },
    query: () => Promise.resolve({ held: [], pending: [] }),
  } as unknown as LockManager;

  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { BroadcastChannel: FakeChannel as unknown as typeof BroadcastChannel, locks, settle };
}

/** Token stores of tabs sharing one value: each hears what another stored, as localStorage's `storage` event says. */
export function sharedTokenStores(count: number): TokenStore[] {
  let value: string | undefined;
  const listeners: ((token: string | undefined) => void)[][] = [];
  return Array.from({ length: count }, (_, tab) => {
    listeners[tab] = [];
    const tell = (token: string | undefined) => {
      value = token;
      listeners.forEach((heard, other) => other !== tab && heard.forEach((listener) => listener(token)));
    };
    return {
      get: () => value,
      set: (token: string) => tell(token),
      clear: () => tell(undefined),
      subscribe(listener: (token: string | undefined) => void) {
        listeners[tab]!.push(listener);
        return () => undefined;
      },
    };
  });
}
