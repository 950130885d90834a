import { availabilitySchema, type AnyRouteSpec, jsonResponse } from '../spec';
import type { ChatRouteDeps } from './deps';

/** Whether anyone is there and how long the wait is, before and during a chat. */
export function availabilityRoutes({
  availability,
  limits,
}: Pick<ChatRouteDeps, 'availability' | 'limits'>): AnyRouteSpec[] {
  return [
    {
      method: 'get',
      path: '/availability',
      summary: 'Whether anyone is there and how long the wait is',
      description:
        "From the deployment's Genesys routing targets (GENESYS_SCHEDULE_GROUP_ID, GENESYS_EMERGENCY_GROUP_ID, " +
        'GENESYS_QUEUE_ID), read from the Platform API once per AVAILABILITY_REFRESH_SECONDS for the whole ' +
        'deployment, never per request. No session is needed, so a page can decide whether to show its chat ' +
        'button. `Cache-Control: public, max-age` says how long the answer holds (until the next read or the ' +
        "schedule's next change). A part Genesys does not give (a permission missing, an outage past " +
        'AVAILABILITY_STALE_SECONDS) is listed in `unknown` rather than failing; with nothing configured the answer ' +
        'is `configured: false, open: true`.',
      auth: 'public',
      limits: { perAddress: [limits.availabilityReadsPerIp] },
      responses: { 200: jsonResponse('The availability', availabilitySchema) },
      async handle(_req, res) {
        const { answer, maxAgeSeconds } = await availability.current();
        res.setHeader('Cache-Control', `public, max-age=${maxAgeSeconds}`);
        res.json(answer);
      },
    },
  ];
}
