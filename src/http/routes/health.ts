import { DEFAULT_RETRY_AFTER_SECONDS } from '../../domain/errors';
import type { Readiness } from '../../observability/readiness';
import { type AnyRouteSpec, healthSchema, readinessSchema } from '../spec';

export function healthRoutes(readiness: Readiness): AnyRouteSpec[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers (no I/O)',
      auth: 'public',
      responses: { 200: { description: 'Alive', schema: healthSchema } },
      handle(_req, res) {
        res.json({ status: 'ok' });
      },
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness, with the named checks',
      description:
        'About this instance: configuration valid, not draining, its event loop keeping up, and each shared ' +
        "dependency answered at least once since start (the deployment's Messenger configuration read; a guest " +
        'WebSocket handshake accepted; a token obtainable and the deployment Active, with an OAuth client; Redis ' +
        'answering a PING, with REDIS_URL). A later outage of a shared dependency leaves it 200 with `status: ' +
        'degraded` and that check `ok: false, affectsReadiness: false`: every instance shares the outage, so taking ' +
        'them all out of rotation would only close every stream (docs/operations.md).',

      auth: 'public',
      responses: {
        200: { description: 'Ready', schema: readinessSchema },
        503: { description: 'Not ready; the failing checks say why', schema: readinessSchema },
      },
      handle(_req, res) {
        const { ready, status, checks } = readiness.report();
        // Like every 503 the service sends, an unready answer says when to ask again.
        if (!ready) res.setHeader('Retry-After', String(DEFAULT_RETRY_AFTER_SECONDS));
        res.status(ready ? 200 : 503).json({ status, checks });
      },
    },
  ];
}
