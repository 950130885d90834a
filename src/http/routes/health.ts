import type { Readiness } from '../../observability/readiness';
import type { AnyRouteSpec } from '../routeSpec';
import { healthSchema, readinessSchema } from '../schemas';

export function healthRoutes(readiness: Readiness): AnyRouteSpec[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers (no I/O)',
      auth: 'public',
      responses: { 200: { description: 'Alive', schema: healthSchema } },
      errors: [],
      handle(_req, res) {
        res.json({ status: 'ok' });
      },
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness, with the named checks',
      description:
        "Configuration valid; the deployment's Messenger configuration read at least once; a guest WebSocket handshake accepted; a token obtainable and the deployment Active (with an OAuth client); Redis answering (with REDIS_URL); not draining.",

      auth: 'public',
      responses: {
        200: { description: 'Ready', schema: readinessSchema },
        503: { description: 'Not ready; the failing checks say why', schema: readinessSchema },
      },
      errors: [],
      handle(_req, res) {
        const { ready, checks } = readiness.report();
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
      },
    },
  ];
}
