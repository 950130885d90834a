import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import {
  DEPLOYMENT_LABEL,
  DeploymentCounter,
  DeploymentGauge,
  DeploymentHistogram,
  deploymentNow,
  deploymentsSeen,
} from './deploymentMetrics';

/**
 * The service's Prometheus metrics (docs/operations.md), defined once here at
 * the bottom layer so each module counts the outcomes it decides where it
 * decides them. Every label value comes from a closed set: a route template,
 * a method, a status code, a known Genesys code or a fixed word; never a
 * token, key, id or raw path, so the number of series stays bounded whatever
 * clients send. Counting costs a few hundred nanoseconds and happens whether
 * or not METRICS_PORT serves them.
 *
 * Every metric below also carries `deployment` (deploymentMetrics.ts): the
 * deployment the work was for, from the deployments configured (`default`
 * for the single-deployment variables and for work outside any deployment),
 * so one install's series are those of one deployment times the deployments.
 * The process and Node metrics carry none.
 */
export const registry = new Registry();

const registers = [registry];

export const httpRequests = new DeploymentCounter({
  name: 'genesys_bff_http_requests_total',
  help: 'HTTP requests answered, by method, route template (`unmatched` for no route) and status.',
  labelNames: ['method', 'route', 'status'] as const,
  registers,
});

export const httpRequestDuration = new DeploymentHistogram({
  name: 'genesys_bff_http_request_duration_seconds',
  help:
    'Time from a request arriving to its answer ending (a live stream: its whole life), ' +
    'by method and route template.',
  labelNames: ['method', 'route'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers,
});

export const sessionsStarted = new DeploymentCounter({
  name: 'genesys_bff_sessions_started_total',
  help:
    'Guest sessions (conversations) started, ' +
    'by whether the customer was signed in (Genesys authenticated messaging).',
  labelNames: ['authenticated'] as const,
  startAtZero: [{ authenticated: 'true' }, { authenticated: 'false' }],
  registers,
});

export const signIns = new DeploymentCounter({
  name: 'genesys_bff_sign_ins_total',
  help:
    'Sign-ins mid-chat Genesys took (POST /guest-session/sign-in), by result: `signed_in` (answered with the ' +
    'signed-in token), `retried` (a retry of one answered with what Genesys gave an earlier attempt: a code is ' +
    'exchanged once), `unrecorded` (the shared store would not record it in time: 503, its retry gets the token).',
  labelNames: ['result'] as const,
  startAtZero: [{ result: 'signed_in' }, { result: 'retried' }, { result: 'unrecorded' }],
  registers,
});

export const messages = new DeploymentCounter({
  name: 'genesys_bff_messages_total',
  help:
    'Chat messages: `inbound` sent by the guest and confirmed by Genesys, ' +
    '`outbound` from an agent or bot to the guest.',
  labelNames: ['direction'] as const,
  startAtZero: [{ direction: 'inbound' }, { direction: 'outbound' }],
  registers,
});

export const receipts = new DeploymentCounter({
  name: 'genesys_bff_receipts_total',
  help: "Receipts Genesys sent for the guest's messages, by what they say (a `failed` one also logs its reasons).",
  labelNames: ['receipt'] as const,
  startAtZero: [{ receipt: 'delivered' }, { receipt: 'read' }, { receipt: 'failed' }],
  registers,
});

export const masked = new DeploymentCounter({
  name: 'genesys_bff_masked_total',
  help:
    "Finds in the guest's input (text, attribute values, file names) before anything saw them, by detector " +
    '(`card`, `iban`, or a MASKING_PATTERNS name) and mode (`mask`: hidden and sent, `refuse`: 422, nothing sent).',
  labelNames: ['detector', 'mode'] as const,
  registers,
});

export const notifyWatchedChats = new DeploymentGauge({
  name: 'genesys_bff_notify_watched_chats',
  help:
    'Chats this instance watches now for replies to push (no page stream open), by mode: `socket` (on a kept guest ' +
    'socket, under NOTIFY_SOCKETS_MAX) or `history` (past it, by paced reads of the newest history page).',
  labelNames: ['mode'] as const,
  registers,
});

export const notifyHistoryReads = new DeploymentCounter({
  name: 'genesys_bff_notify_history_reads_total',
  help:
    'History reads that watch chats past NOTIFY_SOCKETS_MAX, by outcome: `replies` (new agent or bot replies), ' +
    '`nothing_new`, `rate_limited` (Genesys answered 429: the chat waits its Retry-After), `refused` (the ' +
    "session's own read budget or the credential's socket ceiling: not sent), `ended` (the chat is over at " +
    'Genesys), `failed` (Genesys failed or was unreachable: the chat backs off).',
  labelNames: ['outcome'] as const,
  startAtZero: [
    { outcome: 'replies' },
    { outcome: 'nothing_new' },
    { outcome: 'rate_limited' },
    { outcome: 'refused' },
    { outcome: 'ended' },
    { outcome: 'failed' },
  ],
  registers,
});

export const notifyHeardReplies = new DeploymentCounter({
  name: 'genesys_bff_notify_heard_replies_total',
  help:
    "Agent and bot replies a chat's live socket heard while no page stream of the subscribed chat was open, by " +
    'outcome: `kept` (held in the shared store for the watch that begins NOTIFY_AFTER_SECONDS after the page left, ' +
    'which pushes it without a history read), `not_kept` (the store did not take it: the watch finds it in history).',
  labelNames: ['outcome'] as const,
  startAtZero: [{ outcome: 'kept' }, { outcome: 'not_kept' }],
  registers,
});

export const emails = new DeploymentCounter({
  name: 'genesys_bff_emails_total',
  help:
    'E-mails to customers who left, by `kind` (`confirmation` of an opt-in, `replies` of a human agent) and ' +
    'outcome, one per try: `sent` (the SMTP relay took it), `deferred` (the relay failed for now: a 4xx, or no ' +
    'connection; tried again), `rejected` (the relay refused it for good, a 5xx: not tried again), `failed` (still ' +
    'failing after its tries, or the shared store did not take it), `capped` (the address had EMAIL_DAILY_MAX ' +
    'today), `read` (the replies were seen before their window ended: none sent).',
  labelNames: ['kind', 'outcome'] as const,
  startAtZero: (['confirmation', 'replies'] as const).flatMap((kind) =>
    ['sent', 'deferred', 'rejected', 'failed', 'capped', ...(kind === 'replies' ? ['read'] : [])].map((outcome) => ({
      kind,
      outcome,
    })),
  ),
  registers,
});

export const pushes = new DeploymentCounter({
  name: 'genesys_bff_pushes_total',
  help:
    'Web Push deliveries by outcome: `sent` (the push service took it), `gone` (404/410: the subscription was ' +
    'removed), `failed` (refused, or still failing after its retries), `retried` (a 429, 5xx or timeout tried ' +
    'again), `claim_retried` (the shared store did not answer the claim of a reply to push: claimed again a ' +
    'second later).',
  labelNames: ['outcome'] as const,
  startAtZero: [
    { outcome: 'sent' },
    { outcome: 'gone' },
    { outcome: 'failed' },
    { outcome: 'retried' },
    { outcome: 'claim_retried' },
  ],
  registers,
});

export const genesysSocketsOpen = new DeploymentGauge({
  name: 'genesys_bff_genesys_sockets_open',
  help: 'Guest API WebSockets to Genesys open now.',
  registers,
});

export const genesysSocketOpens = new DeploymentCounter({
  name: 'genesys_bff_genesys_socket_opens_total',
  help: 'Guest API WebSockets opened (handshake accepted) since start.',
  registers,
});

export const genesysErrors = new DeploymentCounter({
  name: 'genesys_bff_genesys_errors_total',
  help:
    'Errors Genesys answered or caused: a Guest API error code, an HTTP status of a REST call or handshake, ' +
    '`timeout`, `unreachable`, else `other`.',
  labelNames: ['code'] as const,
  registers,
});

export const genesysRateLimited = new DeploymentCounter({
  name: 'genesys_bff_genesys_rate_limited_total',
  help: 'Times Genesys asked the service to slow down (Guest API 429/4029, REST 429).',
  registers,
});

export const guestLinkTransitions = new DeploymentCounter({
  name: 'genesys_bff_guest_link_transitions_total',
  help: "Changes of a guest session's upstream link state (linkState.ts), by the state left and the state entered.",
  labelNames: ['from', 'to'] as const,
  registers,
});

export const genesysCircuitOpen = new DeploymentGauge({
  name: 'genesys_bff_genesys_circuit_open',
  help: "1 while this instance's circuit to Genesys is open: calls that need Genesys are refused at once (503).",
  registers,
});

export const genesysCircuitTransitions = new DeploymentCounter({
  name: 'genesys_bff_genesys_circuit_transitions_total',
  help: "Changes of this instance's circuit to Genesys, by the state entered (open, closed).",
  labelNames: ['to'] as const,
  registers,
});

export const genesysCircuitRefusals = new DeploymentCounter({
  name: 'genesys_bff_genesys_circuit_refusals_total',
  help: 'Calls to Genesys refused at once (503 upstream_unavailable with Retry-After) while the circuit was open.',
  registers,
});

export const genesysCircuitReleases = new DeploymentCounter({
  name: 'genesys_bff_genesys_circuit_releases_total',
  help:
    'Requests already waiting on Genesys answered at once (503 upstream_unavailable with Retry-After) when the ' +
    'circuit opened, instead of at their deadline.',
  registers,
});

export const streamsOpen = new DeploymentGauge({
  name: 'genesys_bff_streams_open',
  help: 'Live streams (GET /messages/stream) open now.',
  registers,
});

/**
 * Sources read at each scrape (one per session hub, one per availability service), each with the deployment it was
 * registered for: each deployment's series sums (or takes the largest of) its own, and a deployment seen without any
 * reads 0.
 */
type Sources = Map<() => number | undefined, string>;

function perDeploymentGauge(name: string, help: string, sources: Sources, combine: (values: number[]) => number) {
  return new Gauge({
    name,
    help,
    labelNames: [DEPLOYMENT_LABEL],
    registers,
    collect() {
      const values = new Map<string, number[]>([...deploymentsSeen()].map((deployment) => [deployment, []]));
      for (const [source, deployment] of sources) {
        const value = source();
        if (value !== undefined) values.get(deployment)?.push(value);
      }
      this.reset();
      for (const [deployment, read] of values) this.set({ deployment }, read.length > 0 ? combine(read) : 0);
    },
  });
}

/** Adds a source to `sources` for the current deployment; the returned function removes it. */
function addSource(sources: Sources, source: () => number | undefined): () => void {
  sources.set(source, deploymentNow());
  return () => sources.delete(source);
}

const guestSessionSources: Sources = new Map();

export const guestSessions = perDeploymentGauge(
  'genesys_bff_guest_sessions',
  'Guest sessions this instance holds (each with at most one socket to Genesys): the live chats it serves.',
  guestSessionSources,
  (held) => held.reduce((sum, n) => sum + n, 0),
);

export const sendsInDoubt = new DeploymentCounter({
  name: 'genesys_bff_sends_in_doubt_total',
  help: 'Guest messages answered "may have been delivered": written to Genesys, but no confirmation came back.',
  registers,
});

export const idempotentReplays = new DeploymentCounter({
  name: 'genesys_bff_idempotent_replays_total',
  help:
    'Sends with an Idempotency-Key answered from an earlier attempt ' +
    '(its record, its attempt in flight, or history) instead of sending again.',
  registers,
});

export const sharedStoreUp = new DeploymentGauge({
  name: 'genesys_bff_shared_store_up',
  help: "1 while the shared store answers (Redis, or this instance's memory without REDIS_URL), 0 while Redis is away.",
  startAtZero: false,
  registers,
});

export const oauthTokenRefreshes = new DeploymentCounter({
  name: 'genesys_bff_oauth_token_refreshes_total',
  help:
    'OAuth client-credentials token requests, by result: `success`, `refused` (credentials or region wrong), ' +
    '`failed` (Genesys unreachable or erring).',
  labelNames: ['result'] as const,
  startAtZero: [{ result: 'success' }, { result: 'refused' }, { result: 'failed' }],
  registers,
});

export const attachments = new DeploymentCounter({
  name: 'genesys_bff_attachments_total',
  help:
    "File uploads (POST /attachments), by result: `uploaded`, `refused` (the guest's file or limits), " +
    '`failed` (Genesys or the store), `cancelled`.',
  labelNames: ['result'] as const,
  startAtZero: [{ result: 'uploaded' }, { result: 'refused' }, { result: 'failed' }, { result: 'cancelled' }],
  registers,
});

export const uploadTypeDecisions = new DeploymentCounter({
  name: 'genesys_bff_upload_type_decisions_total',
  help:
    "How an upload's type was settled, by decision: `declared` (the browser's type, or its alias, is listed), " +
    '`by_name` (the type the file name implies, where none was declared or the declared one is not listed), ' +
    '`script_as_text` (content ' +
    'starting `#!` accepted because it was declared as a text or script type the deployment lists).',
  labelNames: ['decision'] as const,
  startAtZero: [{ decision: 'declared' }, { decision: 'by_name' }, { decision: 'script_as_text' }],
  registers,
});

export const limitsRefused = new DeploymentCounter({
  name: 'genesys_bff_limits_refused_total',
  help: 'Requests the service refused under one of its own limits (docs/api.md#limits-the-service-enforces), by limit.',
  labelNames: ['limit'] as const,
  registers,
});

/** The service's own limits, as `limit` label values. */
export type LimitName =
  | 'sessions_per_ip'
  | 'conversation_changes_per_ip'
  | 'conversation_changes_per_session'
  | 'streams_per_session'
  | 'streams_per_ip'
  | 'session_send_rate'
  | 'genesys_request_budget'
  | 'socket_opens_per_session'
  | 'guest_socket_max'
  | 'history_reads'
  | 'uploads_in_flight'
  | 'uploads_per_ip'
  | 'sign_ins_per_ip'
  | 'sign_ins_per_session'
  | 'attribute_writes_per_ip'
  | 'attribute_writes_per_session'
  | 'availability_reads_per_ip'
  | 'connections_per_ip'
  | 'connections_max';

// The store answers until it says otherwise: the memory store never does. A store is the deployment's it was made
// for; none starts at 0 for a deployment that has none of its own.
sharedStoreUp.set(1);

/** Guest API error codes (docs/genesys-protocol.md#error-codes) and the HTTP statuses Genesys answers with. */
const KNOWN_GENESYS_CODES: ReadonlySet<string> = new Set([
  ...['400', '401', '403', '404', '408', '409', '413', '415', '422', '429', '500', '502', '503', '504'],
  ...Array.from({ length: 30 }, (_, i) => String(4000 + i)),
  'timeout',
  'unreachable',
]);

/** A Genesys error as a label value from the closed set: a known code, else `other`. */
export function genesysErrorCode(code: number | string | undefined): string {
  const text = String(code);
  return KNOWN_GENESYS_CODES.has(text) ? text : 'other';
}

/** Counts an error Genesys answered (or a failure to reach it); a 429/4029 also counts as rate limiting. */
export function countGenesysError(code: number | string | undefined): void {
  const label = genesysErrorCode(code);
  genesysErrors.inc({ code: label });
  if (label === '429' || label === '4029') genesysRateLimited.inc();
}

/** Adds a source of held guest sessions (a session hub's) to the current deployment's; returns its removal. */
export function countGuestSessions(source: () => number): () => void {
  return addSource(guestSessionSources, source);
}

let defaultsCollected = false;

/** prom-client's process and Node metrics (event-loop lag, heap, GC, file descriptors), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: '' });
}

/** The exposition text (Prometheus text format). */
export async function metricsText(): Promise<string> {
  return registry.metrics();
}

export const availabilityRefreshes = new DeploymentCounter({
  name: 'genesys_bff_availability_refreshes_total',
  help:
    'Reads of availability from the Platform API (GET /availability), by result: `ok` (every part read), ' +
    '`partial` (some part not), `failed` (none), `rate_limited` (Genesys answered 429; the next waits its ' +
    'Retry-After). An instance that reads the answer another instance shared counts nothing.',
  labelNames: ['result'] as const,
  startAtZero: [{ result: 'ok' }, { result: 'partial' }, { result: 'failed' }, { result: 'rate_limited' }],
  registers,
});

const availabilityAgeSources: Sources = new Map();

export const availabilityAnswerAge = perDeploymentGauge(
  'genesys_bff_availability_answer_age_seconds',
  'How old the availability answer this instance serves is, in seconds (since Genesys was last read for it).',
  availabilityAgeSources,
  (ages) => Math.max(...ages),
);

/** Adds a source of the availability answer's age in seconds (the current deployment's); returns its removal. */
export function countAvailabilityAge(source: () => number | undefined): () => void {
  return addSource(availabilityAgeSources, source);
}

/** A canary's steps, in the order a run takes them (docs/operations.md#canaries). */
export const CANARY_STEPS = ['session', 'send', 'first_answer', 'stream', 'history', 'end'] as const;

export const canaryRuns = new DeploymentCounter({
  name: 'genesys_bff_canary_runs_total',
  help:
    'Canary conversations, one per interval across the instances, by outcome: `ok` (every step within the ' +
    "objective's 10 s), `failed` (a step failed, or the run took longer), `skipped` (not run: Genesys unavailable, " +
    'the circuit open, or backing off after a 429). Counted by the instance that ran it.',
  labelNames: ['outcome'] as const,
  startAtZero: [{ outcome: 'ok' }, { outcome: 'failed' }, { outcome: 'skipped' }],
  registers,
});

export const canaryStepSeconds = new DeploymentHistogram({
  name: 'genesys_bff_canary_step_seconds',
  help: 'How long each step of a canary took, ok or failed (a skipped step is not observed), by step.',
  labelNames: ['step'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers,
});

export const canaryStepFailures = new DeploymentCounter({
  name: 'genesys_bff_canary_step_failures_total',
  help: 'Canary runs that failed, by the step that failed (the first; the steps after it are skipped).',
  labelNames: ['step'] as const,
  startAtZero: CANARY_STEPS.map((step) => ({ step })),
  registers,
});

export const webhookEvents = new DeploymentCounter({
  name: 'genesys_bff_webhook_events_total',
  help:
    'Chat events for webhooks, by what became of them: `queued` (in the outbox), `duplicate` (queued already: ' +
    'a send is told by its answer and its echo, and an event may be heard by another instance or tab), ' +
    '`outbox_full` (dropped: the outbox is at WEBHOOK_OUTBOX_MAX), `store_failed` (dropped: the shared store ' +
    'did not take it for a minute).',
  labelNames: ['outcome'] as const,
  startAtZero: [
    { outcome: 'queued' },
    { outcome: 'duplicate' },
    { outcome: 'outbox_full' },
    { outcome: 'store_failed' },
  ],
  registers,
});

export const webhookDeliveries = new DeploymentCounter({
  name: 'genesys_bff_webhook_deliveries_total',
  help:
    'Webhook delivery attempts, by outcome: `delivered` (2xx), `failed` (another status, a timeout or no ' +
    'connection: retried later), `disabled` (410: the endpoint is disabled), `dead_lettered` (retried for ' +
    'WEBHOOK_RETRY_HOURS, or its endpoint disabled or removed).',
  labelNames: ['outcome'] as const,
  startAtZero: [{ outcome: 'delivered' }, { outcome: 'failed' }, { outcome: 'disabled' }, { outcome: 'dead_lettered' }],
  registers,
});

export const webhookOutboxDepth = new DeploymentGauge({
  name: 'genesys_bff_webhook_outbox_depth',
  help: 'Webhook events waiting for delivery (the outbox, shared with Redis), as this instance last read it.',
  registers,
});

export const webhookDeadLetters = new DeploymentGauge({
  name: 'genesys_bff_webhook_dead_letters',
  help: 'Webhook events in the dead-letter list, as this instance last read it.',
  registers,
});
