import { doc, optionalIntFrom, text } from './envValues';

/**
 * A deployment's canary (docs/operations.md#canaries): a synthetic conversation run through the service's own chat
 * once per interval, by one instance for all, with a custom attribute the Architect flow routes on so that it never
 * reaches an agent's queue or a report.
 */

const canary = (summary: string, details: string, unset: string) =>
  doc({ group: 'observability', summary, details, unset });

/** The attribute a canary carries when CANARY_ATTRIBUTE is unset. */
export const DEFAULT_CANARY_ATTRIBUTE = 'genesysBffCanary=true';

export const canaryEnv = {
  CANARY_INTERVAL_SECONDS: optionalIntFrom('CANARY_INTERVAL_SECONDS', 1, 86_400).meta(
    canary(
      'Seconds between two canary conversations of the deployment: one run per interval across every instance.',
      "Each run starts a guest session with `CANARY_ATTRIBUTE`, sends a message, waits for the flow's first answer " +
        '(at most half the interval, and at most 10 s), sees it on the live stream path and in history, and ends ' +
        'the chat. With Redis one instance runs it for all (a lease per interval). A run counts against the ' +
        "deployment's Genesys budgets like a customer's chat; a `429` puts the next run after its `Retry-After`, and " +
        'no run starts while the circuit to Genesys is open. Outcomes: `genesys_bff_canary_runs_total`, ' +
        '`GET /canary` on the metrics listener. 60 suits production.',
      'off',
    ),
  ),
  CANARY_ATTRIBUTE: text().meta(
    canary(
      'The custom attribute, `name=value`, every canary conversation carries, for the Architect flow to route on.',
      'The inbound message flow should send a conversation with it down a short path that answers at once and ' +
        "leaves agents' queues and reports alone (docs/operations.md#canaries).",
      `\`${DEFAULT_CANARY_ATTRIBUTE}\``,
    ),
  ),
  CANARY_EXPECT: text().meta(
    canary(
      "Text the flow's first answer to a canary must contain.",
      "Compared as given, case included: the first message to the guest after the canary's that contains it is " +
        'the answer, so a greeting sent as the chat starts is not taken for it; the run fails at its ' +
        '`first_answer` step when none comes in time. Set it when the deployment greets on autostart.',
      'any answer will do',
    ),
  ),
};
