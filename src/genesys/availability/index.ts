/**
 * Whether anyone is there and how long the wait is (GET /availability): the Platform API read once per
 * interval for the deployment, open hours evaluated in the schedule group's time zone, shared between instances.
 */
export { AvailabilityService } from './availabilityService';
export type { AvailabilityAnswer, AvailabilityOptions } from './availabilityService';
export { OpenHours } from './openHours';
export type { ScheduleGroupHours, TimedSchedule } from './openHours';
