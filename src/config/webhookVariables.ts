import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../domain/webhookEvent';
import { doc, intFrom, text } from './envValues';

/**
 * Webhooks (docs/api.md#webhooks): the endpoint of the single-deployment variables (a deployments file lists its own
 * under `webhooks:`), and how every deployment's deliveries are made, retried and bounded.
 */

const webhooks = (summary: string, details?: string) => doc({ group: 'webhooks', summary, details });

/** `whsec_` and base64 of 24 to 64 random bytes, as the Standard Webhooks specification writes a secret. */
export function webhookSecretProblem(secret: string): string | undefined {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  const bytes = match ? Buffer.from(match[1]!, 'base64').length : 0;
  if (!match || bytes < 24 || bytes > 64)
    return (
      'must be `whsec_` followed by the base64 of 24 to 64 random bytes ' +
      '(e.g. `echo whsec_$(openssl rand -base64 32)`)'
    );
  return undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * An endpoint URL: https, or http on loopback (a receiver on the same host, or a test). A problem names only its
 * scheme and host: the rest of a webhook URL is often a credential of its own.
 */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https URL such as https://hooks.example.com/genesys';
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return undefined;
  return `must be an https URL (http only on loopback) (got ${url.protocol}//${url.host}/…)`;
}

export const webhookEnv = {
  WEBHOOK_URL: text().meta(
    webhooks(
      'Where the deployment posts its webhooks: an https URL (http only on loopback).',
      'Each event of a chat is posted as JSON, signed per Standard Webhooks ([docs/api.md](api.md#webhooks)). ' +
        'A deployments file lists any number of endpoints under `webhooks:` instead.',
    ),
  ),
  WEBHOOK_SECRET: text().meta({
    ...webhooks(
      'The secret the webhooks are signed with: `whsec_` and the base64 of 24 to 64 random bytes.',
      'Give it to the receiver, which checks `webhook-signature` with it.',
    ),
    required: 'with WEBHOOK_URL',
    secret: true,
  }),
  WEBHOOK_EVENTS: text().meta({
    ...webhooks(
      'The events the endpoint gets, comma-separated.',
      `Of: ${WEBHOOK_EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}.`,
    ),
    unset: 'every event',
  }),
  WEBHOOK_RETRY_HOURS: intFrom('WEBHOOK_RETRY_HOURS', 24, 1, 720).meta(
    webhooks(
      'How long an undelivered event is retried, in hours, before it goes to the dead-letter list.',
      'Retries back off exponentially with full jitter from WEBHOOK_RETRY_FIRST_MS up to an hour apart.',
    ),
  ),
  WEBHOOK_RETRY_FIRST_MS: intFrom('WEBHOOK_RETRY_FIRST_MS', 5000, 10, 600_000).meta(
    webhooks('The longest wait before the first retry, in milliseconds; each later one may wait twice as long.'),
  ),
  WEBHOOK_TIMEOUT_MS: intFrom('WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000).meta({
    ...webhooks('How long one delivery may take, in milliseconds, before it counts as failed and is retried.'),
    holds: 'request',
  }),
  WEBHOOK_CONCURRENCY: intFrom('WEBHOOK_CONCURRENCY', 8, 1, 256).meta({
    ...webhooks('Deliveries one instance makes at once for each deployment.'),
    holds: 'instance',
  }),
  WEBHOOK_OUTBOX_MAX: intFrom('WEBHOOK_OUTBOX_MAX', 10_000, 10, 1_000_000).meta({
    ...webhooks(
      'The most events that wait for delivery for each deployment; past it new events are dropped, logged and ' +
        'counted, and so many dead letters are kept.',
      'With Redis the outbox is shared, counted once across every instance.',
    ),
    holds: 'deployment-shared',
  }),
};

/** WEBHOOK_EVENTS as a list; problems for names that are not events. */
export const eventList = z
  .array(z.enum(WEBHOOK_EVENT_TYPES, { error: (i) => `"${String(i.input)}" is not a webhook event` }))
  .min(1, 'must name at least one event');
