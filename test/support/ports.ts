import fs from 'node:fs';
import net from 'node:net';

/**
 * A loopback port free right now, for a child process that must be told its port up front.
 * It is taken below the kernel's ephemeral range (Linux: ip_local_port_range), where no
 * `listen(0)` and no outgoing connection of a suite running beside it can be given it in the
 * time the child takes to bind it (`npm start` builds first: minutes).
 */
export async function freePort(): Promise<number> {
  const below = ephemeralFloor();
  if (below === undefined) return anyFreePort();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_000));
    if (await isFree(port)) return port;
  }
  return anyFreePort();
}

/** The lowest port the kernel hands out on its own, or undefined where that cannot be read (or leaves no room below it). */
function ephemeralFloor(): number | undefined {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : undefined;
  } catch {
    return undefined;
  }
}

function isFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function anyFreePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
