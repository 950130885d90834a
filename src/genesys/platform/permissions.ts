import { AVAILABILITY_PERMISSIONS } from './availabilityReads';
import { DEPLOYMENT_CHECK_PERMISSION } from './deploymentCheck';

/**
 * Every Platform API permission the service's OAuth client (client credentials) uses, with what needs it and when:
 * one role holding them all is what docs/genesys-setup.md asks an org to create. A client-credentials client is
 * granted a role per division (docs/genesys-protocol.md#availability): a permission held in another division than the
 * object's reads as missing.
 */
export const PLATFORM_PERMISSIONS: readonly { permission: string; usedFor: string; when: string }[] = [
  {
    permission: DEPLOYMENT_CHECK_PERMISSION,
    usedFor:
      "the deployment check of `/readyz`: the Messenger deployment exists, is active, allows the service's origin",
    when: 'always, with an OAuth client',
  },
  {
    permission: AVAILABILITY_PERMISSIONS.scheduleGroup,
    usedFor: '`GET /availability`: the schedule group (its time zone and schedules)',
    when: 'with a schedule group',
  },
  {
    permission: AVAILABILITY_PERMISSIONS.schedule,
    usedFor: '`GET /availability`: each schedule of the group (open, closed and holiday hours)',
    when: 'with a schedule group',
  },
  {
    permission: AVAILABILITY_PERMISSIONS.emergencyGroup,
    usedFor: '`GET /availability`: whether the emergency group is active',
    when: 'with an emergency group',
  },
  {
    permission: AVAILABILITY_PERMISSIONS.estimatedWait,
    usedFor: "`GET /availability`: each queue's estimated wait",
    when: 'with queues',
  },
  {
    permission: AVAILABILITY_PERMISSIONS.observations,
    usedFor: '`GET /availability`: agents on queue and interactions waiting',
    when: 'with queues',
  },
];
