import { z } from 'zod';

/**
 * The public answer of GET /availability and of the stream's `availability` event: whether anyone is there
 * and how long the wait is, from the deployment's Genesys routing targets (docs/api.md#get-availability).
 */
export const AVAILABILITY_PARTS = ['schedule', 'emergency', 'estimatedWait', 'agents'] as const;
export type AvailabilityPart = (typeof AVAILABILITY_PARTS)[number];

export const AVAILABILITY_REASONS = ['open', 'closed', 'holiday', 'emergency', 'no_agents'] as const;
export type AvailabilityReason = (typeof AVAILABILITY_REASONS)[number];

const offsetDateTime = z.iso.datetime({ offset: true });

export const availabilitySchema = z
  .object({
    configured: z
      .boolean()
      .describe('Whether this deployment reads availability from Genesys; false: open with nulls, nothing known'),
    open: z
      .boolean()
      .describe('Whether a chat started now reaches a staffed centre; a part that cannot be read never closes it'),
    reason: z
      .enum(AVAILABILITY_REASONS)
      .describe(
        '`closed`: outside the open hours (or inside a closed schedule), `holiday`: a holiday schedule, ' +
          '`emergency`: the emergency group is on, `no_agents`: open hours but no agent is on queue',
      ),
    nextOpenAt: offsetDateTime
      .nullable()
      .describe("When the schedule opens next, with the schedule group's UTC offset; null when open or unknown"),
    closesAt: offsetDateTime
      .nullable()
      .describe(
        "When the open period ends (open schedules that touch or overlap make one), with the schedule group's " +
          'UTC offset; null when closed, unknown, or open for more than a year',
      ),
    estimatedWaitSeconds: z
      .number()
      .nullable()
      .describe("Genesys's estimated wait for a new message interaction (the longest of the queues); null: none given"),
    agentsAvailable: z
      .number()
      .int()
      .nullable()
      .describe('Agents on queue and idle, over the queues; null when not read'),
    waiting: z.number().int().nullable().describe('Interactions waiting in the queues; null when not read'),
    unknown: z
      .array(z.enum(AVAILABILITY_PARTS))
      .describe('The parts that could not be read (permission missing, Genesys away past the stale window)'),
    stale: z.boolean().describe('Some part is the last good answer, kept through a Genesys failure'),
    asOf: z.iso.datetime().describe('When Genesys was last read for this answer'),
  })
  .describe('Whether anyone is there, and how long the wait is');

export type Availability = z.infer<typeof availabilitySchema>;
