import { z } from 'zod';
import { doc, intFrom, optionalString } from './envValues';
import { GENESYS_ID } from './deployment';

/**
 * GET /availability's variables: which Genesys routing targets it reads (docs/genesys-protocol.md#availability)
 * and how often. Each target is optional; with none set the route answers open, with nothing known.
 */

/** Genesys ids (UUIDs), comma-separated; unset when blank. */
const genesysIds = (name: string, many: boolean) =>
  optionalString
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const ids = v
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '');
      const bad = ids.filter((id) => !GENESYS_ID.test(id));
      if (bad.length > 0 || ids.length === 0 || (!many && ids.length > 1)) {
        ctx.addIssue({
          code: 'custom',
          message:
            `${name} must be ${many ? 'one or more Genesys ids (UUIDs), comma-separated' : 'one Genesys id (a UUID)'}` +
            ` (got "${v}")`,
        });
        return z.NEVER;
      }
      return ids;
    })
    .meta({});

const availability = (summary: string, details?: string) => doc({ group: 'genesys', summary, details });

export const availabilityEnv = {
  GENESYS_QUEUE_ID: genesysIds('GENESYS_QUEUE_ID', true).meta(
    availability(
      'The queue ids (comma-separated) whose estimated wait and agents GET /availability reports.',
      'Needs the OAuth client (GENESYS_CLIENT_ID) with `routing:queue:view` for the estimated wait (message media ' +
        'type; the longest over the queues) and `analytics:queueObservation:view` for agents on queue and ' +
        'interactions waiting (summed), each in the division that holds the queue. Unset: neither is read.',
    ),
  ),
  GENESYS_SCHEDULE_GROUP_ID: genesysIds('GENESYS_SCHEDULE_GROUP_ID', false).meta(
    availability(
      "The Architect schedule group whose open, closed and holiday schedules give GET /availability's open hours.",
      'Needs `routing:scheduleGroup:view` and `routing:schedule:view`, in the division that holds the group and its ' +
        "schedules (a role granted in another division reads as missing). Evaluated in the group's time zone. " +
        'Unset: no open hours (open unless another part says otherwise).',
    ),
  ),
  GENESYS_EMERGENCY_GROUP_ID: genesysIds('GENESYS_EMERGENCY_GROUP_ID', false).meta(
    availability(
      'The Architect emergency group that, while enabled, makes GET /availability answer closed (`emergency`).',
      "Name the group your inbound message flow's Evaluate Schedule Group action names: an emergency group changes " +
        'where messages go only there (docs/genesys-protocol.md#availability). ' +
        "Needs `routing:emergencyGroup:view`, in the emergency group's division.",
    ),
  ),
  AVAILABILITY_REFRESH_SECONDS: intFrom('AVAILABILITY_REFRESH_SECONDS', 30, 1, 3600).meta(
    availability(
      'How often the availability is read from Genesys, in seconds, once for the whole deployment.',
      'With Redis one instance reads for all. A Platform `429` delays the next read by its `Retry-After`.',
    ),
  ),
  AVAILABILITY_STALE_SECONDS: intFrom('AVAILABILITY_STALE_SECONDS', 300, 0, 86_400).meta(
    availability(
      'How long the last good availability answer is served, marked `stale`, while Genesys cannot be read, in ' +
        'seconds.',
      'After it the parts that cannot be read are listed in `unknown` (and no longer close the centre).',
    ),
  ),
};
