import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of the simulator that can make Genesys go away the two ways it does in production:
 * `refuse` (every connection, open or new, is reset at once) and `hang` (connections are accepted and kept,
 * and nothing more passes either way: a host that stopped answering). `pass` relays again.
 */
export type SwitchMode = 'pass' | 'refuse' | 'hang';

export interface GenesysSwitch {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The same address as ws://, for GENESYS_WEBMESSAGING_URL. */
  readonly wsUrl: string;
  set(mode: SwitchMode): void;
  /** Calls `listener` with each connection the switch takes, before anything passes on it; returns how to stop. */
  onConnection(listener: (client: Socket) => void): () => void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
  hung: boolean;
}

export async function startGenesysSwitch(targetPort: number): Promise<GenesysSwitch> {
  let mode: SwitchMode = 'pass';
  const connectionListeners = new Set<(client: Socket) => void>();
  const pairs = new Set<Pair>();
  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    for (const listener of connectionListeners) listener(client);
    if (mode === 'refuse') return void client.resetAndDestroy();
    const pair: Pair = { client, hung: mode === 'hang' };
    pairs.add(pair);
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (mode === 'hang') return;
    const upstream = connect(targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
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
        } else if (next === 'hang' && pair.upstream) {
          pair.client.unpipe(pair.upstream);
          pair.upstream.unpipe(pair.client);
          pair.client.pause();
          pair.upstream.pause();
          pair.hung = true;
        } else if (next === 'hang') pair.hung = true;
      }
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      return () => void connectionListeners.delete(listener);
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
