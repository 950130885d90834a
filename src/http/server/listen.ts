import type { Server } from 'node:net';

/**
 * Listens, or rejects with the reason it cannot (a port in use, an address not of this machine).
 * The start's 'error' listener goes once it listens: a later fault is not the start's to swallow.
 */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
