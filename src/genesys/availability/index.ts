/**
 * Whether anyone is there and how long the wait is (GET /availability): the Platform API read once per
 * interval for the deployment, open hours evaluated in the schedule group's time zone, shared between instances.
 * The refresh and the answer it composes are exported too, for `npm run verify:genesys` to read a deployment the
 * way the service does.
 */
export { AvailabilityService } from './availabilityService';
export type { AvailabilityAnswer, AvailabilityOptions } from './availabilityService';
export { composeAnswer } from './answer';
export { configuredParts, refreshFacts, ZONE_WHEN_NONE } from './facts';
export type { Facts } from './facts';
export { OpenHours } from './openHours';
export type { DecidingSchedule, ScheduleGroupHours, TimedSchedule } from './openHours';
