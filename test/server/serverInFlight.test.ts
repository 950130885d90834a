import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type http from 'node:http';
import { startTestService } from '../support/app';

/**
 * src/server.ts keeps each answer in flight in a set, so that a stop can ask the ones not yet started
 * to close their connection. An answer must leave the set once it closes: a set that kept every
 * answer would hold the memory of each request served until the service stops. Seen from outside
 * by whether the answer's object can still be collected once its connection is gone.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

it('lets go of each answer once it closes', async () => {
  const service = await startTestService();
  try {
    const answers: WeakRef<http.ServerResponse>[] = [];
    service.server.on(
      'request',
      (_req: http.IncomingMessage, res: http.ServerResponse) => void answers.push(new WeakRef(res)),
    );
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${service.url}/healthz`, { headers: { Connection: 'close' } });
      await res.text();
    }
    service.server.closeAllConnections();
    expect(answers).toHaveLength(3);
    let held = answers.length;
    for (let round = 0; round < 20 && held > 0; round++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      gc();
      held = answers.filter((ref) => ref.deref() !== undefined).length;
    }
    expect(held).toBe(0);
  } finally {
    await service.stop();
  }
});
