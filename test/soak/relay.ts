import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * The network between the instances and Genesys (the simulator): a TCP relay on loopback that can refuse
 * (every connection, open or new, reset), hang (connections kept, nothing passes either way: a host that
 * stopped answering) or delay every chunk each way by `delayMs` (a slow network). Like
 * test/support/genesysSwitch.ts, with the delay added.
 */
export type RelayMode = 'pass' | 'refuse' | 'hang';

export interface Relay {
  readonly url: string;
  readonly wsUrl: string;
  set(mode: RelayMode): void;
  /** Latency added to every chunk, each way (0: none). */
  delay(ms: number): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
  hung: boolean;
}

/** Writes `chunk` to `to` after the relay's delay, keeping the chunks' order. */
function forward(from: Socket, to: Socket, delayMs: () => number, hung: () => boolean): void {
  let last = Promise.resolve();
  from.on('data', (chunk: Buffer) => {
    const ms = delayMs();
    if (ms === 0) {
      last = last.then(() => void (hung() || to.write(chunk)));
      return;
    }
    const due = Date.now() + ms;
    last = last.then(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(
            () => {
              if (!to.destroyed && !hung()) to.write(chunk);
              resolve();
            },
            Math.max(0, due - Date.now()),
          ),
        ),
    );
  });
}

export async function startRelay(targetPort: number): Promise<Relay> {
  let mode: RelayMode = 'pass';
  let delayMs = 0;
  const pairs = new Set<Pair>();
  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'refuse') return void client.resetAndDestroy();
    const pair: Pair = { client, hung: mode === 'hang' };
    pairs.add(pair);
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (mode === 'hang') return void client.pause();
    const upstream = connect(targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    const hung = () => pair.hung;
    forward(client, upstream, () => delayMs, hung);
    forward(upstream, client, () => delayMs, hung);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    set(next) {
      mode = next;
      for (const pair of [...pairs]) {
        // A host that comes back has forgotten the connections it stopped answering.
        if (next === 'refuse' || (next === 'pass' && pair.hung)) {
          pair.client.resetAndDestroy();
          pair.upstream?.destroy();
        } else if (next === 'hang') {
          pair.hung = true;
          pair.client.pause();
          pair.upstream?.pause();
        }
      }
    },
    delay(ms) {
      delayMs = ms;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
