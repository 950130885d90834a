/**
 * Which suites judge which part of src/ in mutation testing (scripts/mutation/run.mjs passes them to
 * Stryker as --testFiles; docs/testing.md#mutation-testing). Every request passes through most
 * modules, so with all in-process suites (stryker.jest.config.js) a mutant there is covered by
 * hundreds of API tests, and one that survives runs them all: a minute or more. Each area is
 * judged instead by its own suites and the few API suites that are about it. A module in no area
 * is judged by every suite of stryker.jest.config.js. Paths are relative to the repository;
 * a folder means every suite in it that stryker.jest.config.js keeps.
 *
 * The first entry whose prefix a module starts with judges it; `npm run test:mutation` runs the
 * modules of each entry together.
 */
const GUEST = ['test/genesys/guest/', 'test/session/guestChat.test.ts', 'test/http/streams/liveStreams.test.ts'];
/** The API suites that state what an upload and an attachment link do. */
const ATTACHMENT_API = [
  'test/api/attachments.test.ts',
  'test/api/attachmentLinks.test.ts',
  'test/api/uploadFormats.test.ts',
];
/**
 * What an upload body may be and what becomes of its connection: its words, its pace, its spool, a
 * refusal delivered before the body is read (earlyRefusal), the count of each outcome (uploadBodies).
 */
const UPLOAD_EDGE = [
  'test/api/attachments.test.ts',
  'test/api/uploadFormats.test.ts',
  'test/api/uploadBodies.test.ts',
  'test/hostile/uploadSpool.test.ts',
  'test/hostile/earlyRefusal.test.ts',
];
/** The API documents as committed (docs/openapi.json, docs/asyncapi.json): every word a route spec publishes. */
const DOCUMENTS = 'test/api/publishedDocuments.test.ts';

/** The chat routes' suites: every request of a chat passes through them. */
const CHAT_ROUTES = [
  'test/api/session.test.ts',
  'test/api/messages.test.ts',
  'test/api/endChat.test.ts',
  'test/api/endChatClearRefused.test.ts',
  'test/api/attributes.test.ts',
  'test/api/answers.test.ts',
  'test/api/stream.test.ts',
  'test/server/lifecycle.test.ts',
  'test/hostile/security.test.ts',
  // The problem pages (routes/problems.ts): every code's words, escaped.
  'test/api/problemPages.test.ts',
  // The chat routes' own rules: HEAD on the stream, a ticket kept by a client gone, its refusals' words, the per-session limit of POST /guest-session.
  'test/api/chatRoutes.test.ts',
  // DELETE /guest-session as declared: repeatable once ended, counted against both limits of conversation changes.
  'test/api/endChatRoute.test.ts',
  // POST /guest-session's limit of new sessions per address.
  'test/api/startSessionLimits.test.ts',
  // POST /messages/read (receipts), and a stream ticket refused while the circuit to Genesys is open.
  'test/api/receipts.test.ts',
  'test/api/genesysCircuit.test.ts',
  DOCUMENTS,
];

const AREAS = [
  // Guest API modules whose rules the API suites state (the Guest API suites only pass through them).
  ['src/genesys/guest/link/sessionExpiry.ts', [...GUEST, 'test/api/sessionExpiry.test.ts']],
  ['src/genesys/guest/rest/webDeploymentTokens.ts', [...GUEST, 'test/api/signIn.test.ts']],
  ['src/genesys/guest/rest/guestSignIn.ts', [...GUEST, 'test/api/signIn.test.ts']],
  // The sliding window: its own suite, the desk that paces each session by it, and the API's pacing suite (the other
  // Guest API suites only pass through it).
  [
    'src/genesys/guest/desk/sendWindow.ts',
    [
      'test/genesys/guest/desk/sendWindow.test.ts',
      'test/genesys/guest/desk/requestDesk.test.ts',
      'test/api/messagePacing.test.ts',
    ],
  ],
  [
    'src/genesys/guest/desk/untracedRefusals.ts',
    [...GUEST, 'test/api/messages.test.ts', 'test/api/messagePacing.test.ts'],
  ],
  ['src/genesys/guest/rest/attachment', [...GUEST, ...ATTACHMENT_API]],
  // Small units whose rules their own suites state; the Guest API suites only pass through them.
  [
    'src/genesys/guest/rest/guestJwt.ts',
    ['test/genesys/guest/rest/guestJwt.test.ts', 'test/genesys/guest/rest/history.test.ts'],
  ],
  [
    'src/genesys/guest/desk/typingIndicator.ts',
    ['test/genesys/guest/desk/typingIndicator.test.ts', 'test/genesys/guest/guestSession.test.ts'],
  ],
  // One session's live streams: its own suite and the session that tells them each event.
  [
    'src/genesys/guest/sessionListeners.ts',
    ['test/genesys/guest/sessionListeners.test.ts', 'test/genesys/guest/guestSession.test.ts'],
  ],
  // Retries and deadlines: their own suite, the link that retries by them and the session that connects by a deadline.
  [
    'src/genesys/guest/link/reconnect.ts',
    [
      'test/genesys/guest/link/reconnect.test.ts',
      'test/genesys/guest/sessionLink.test.ts',
      'test/genesys/guest/guestSession.test.ts',
    ],
  ],
  ['src/genesys/guest/', GUEST],
  // Open hours and the availability answer: their own suites (the property tests hold them to an independent
  // time-zone oracle) and the routes that publish them.
  [
    'src/genesys/availability/',
    [
      'test/genesys/availability/',
      'test/api/availability.test.ts',
      'test/api/availabilityShared.test.ts',
      'test/api/availabilityStream.test.ts',
    ],
  ],
  // How allowedDomains apply to an origin: its own suite and the deployment check that warns with it.
  [
    'src/genesys/platform/allowedDomains.ts',
    ['test/genesys/platform/allowedDomains.test.ts', 'test/genesys/platform/deploymentCheck.test.ts'],
  ],
  // A download link's stated expiry and shape: its own suite and the attachment links that expire by it.
  [
    'src/genesys/downloadLinks.ts',
    ['test/genesys/downloadLinks.test.ts', 'test/session/attachments/downloadUrls.test.ts'],
  ],
  // The role's permission list is a module constant (every mutant static, ignored) whose words only
  // test/docs/genesysSetup.test.ts states, and docs suites are left out: the Platform side's suite loads it.
  ['src/genesys/platform/permissions.ts', ['test/genesys/platform/index.test.ts']],
  ['src/genesys/', ['test/genesys/platform/', 'test/config/operation.test.ts', 'test/api/session.test.ts']],
  // Identity tokens: their keys and their words at a sign-in.
  ['src/session/attributes/identityVerifier.ts', ['test/session/attributes/', 'test/api/signIn.test.ts']],
  // The detectors and what is masked where: their own suites (a property test against a Luhn and ISO 13616 oracle)
  // and the API's masking suite.
  ['src/session/masking/', ['test/session/masking/', 'test/api/masking.test.ts']],
  // What POST /messages and POST /guest-session carry: their own suites and the API suites that state their refusals.
  [
    'src/session/sending/messageInput.ts',
    ['test/session/sending/messageInput.test.ts', 'test/api/messages.test.ts', 'test/api/inputScreens.test.ts'],
  ],
  // The message rate across instances: its own suite (a scripted store and clock) and the shared store's key for it.
  [
    'src/session/sending/sharedSendRate.ts',
    ['test/session/sending/sharedSendRate.test.ts', 'test/api/sharedStore.test.ts'],
  ],
  // What a re-issued token carries over (a renewed sign-in, the anchor): its own suite (sealed by the real tokens), the
  // chat's suite and the API suites that send with, sign in on, change attributes with and end on a re-issued token.
  [
    'src/session/sessionState.ts',
    [
      'test/session/sessionState.test.ts',
      'test/session/guestChat.test.ts',
      'test/api/session.test.ts',
      'test/api/attributes.test.ts',
      'test/api/signIn.test.ts',
      'test/api/endedMeansEnded.test.ts',
    ],
  ],
  // The upload slots: their own suite, the ceilings shared across deployments, and the spool that holds a slot.
  [
    'src/session/attachments/uploadSlots.ts',
    [
      'test/session/attachments/uploadSlots.test.ts',
      'test/api/deploymentCeilings.test.ts',
      'test/hostile/uploadSpool.test.ts',
    ],
  ],
  ['src/session/startInput.ts', ['test/session/startInput.test.ts', 'test/api/session.test.ts']],
  // Reaching a customer who left (Web Push, e-mail): their own suites, from the watch's lease to each courier.
  ['src/session/notifications/', ['test/session/notifications/']],
  // The chat's events as webhooks: the session side that records them and the courier's own suites.
  ['src/session/chatWebhooks.ts', ['test/session/chatWebhooks.test.ts', 'test/webhooks/']],
  [
    'src/session/',
    [
      'test/session/',
      'test/api/session.test.ts',
      // A resumed session's identity checks (attributes.ts refuseOtherCustomer) are stated there.
      'test/api/attributes.test.ts',
      'test/api/capabilities.test.ts',
      'test/api/signIn.test.ts',
      ...ATTACHMENT_API,
      'test/api/inputScreens.test.ts',
      'test/api/endChat.test.ts',
      'test/api/endChatClearRefused.test.ts',
      'test/api/endedMeansEnded.test.ts',
      'test/api/capabilitiesEnforced.test.ts',
      'test/api/messages.test.ts',
      'test/api/sessionExpiry.test.ts',
      'test/api/sharedStore.test.ts',
      // Read receipts (guestChat markRead), the transcript and masking reach the chat only through the API.
      'test/api/receipts.test.ts',
      'test/api/transcript.test.ts',
      'test/api/masking.test.ts',
    ],
  ],
  // liveStreams: the caps and cut-offs, and each refusal's words and count, a reader behind, final events, resume and replay placement, the answer's head.
  ['src/http/streams/liveStreams.ts', ['test/http/streams/liveStreams.test.ts', 'test/api/stream.test.ts']],
  ['src/http/routes/attachments.ts', [...UPLOAD_EDGE, 'test/api/attachmentLinks.test.ts', DOCUMENTS]],
  // uploadNames: a name of any script, sent as FormData writes it (UTF-8 bytes in filename=), is kept.
  [
    'src/http/uploads/multipart.ts',
    [...UPLOAD_EDGE, 'test/http/uploads/multipart.test.ts', 'test/api/uploadNames.test.ts'],
  ],
  ['src/http/routes/signIn.ts', ['test/api/signIn.test.ts', DOCUMENTS]],
  // Types only, nothing to mutate: the suite that builds every route from them.
  ['src/http/routes/deps.ts', [DOCUMENTS]],
  // GET /openapi.json and /asyncapi.json: each served document is the committed one, word for word.
  ['src/http/routes/documents.ts', [DOCUMENTS]],
  // A transcript's text or HTML: byte for byte the kit's (transcriptLayout), and as GET /messages/transcript serves it.
  ['src/http/routes/transcriptDocument.ts', ['test/client/transcriptLayout.test.ts', 'test/api/transcript.test.ts']],
  // GET /availability: its answer and Cache-Control, its per-address limit (availability), and its words (DOCUMENTS).
  ['src/http/routes/availability.ts', ['test/api/availability.test.ts', DOCUMENTS]],
  // GET /capabilities: the view a session reads (capabilities), and its words (DOCUMENTS).
  ['src/http/routes/capabilities.ts', ['test/api/capabilities.test.ts', DOCUMENTS]],
  // The problem pages: every code's title and advice, escaped, and the 404 of an unknown one (problemPages).
  ['src/http/routes/problems.ts', ['test/api/problemPages.test.ts', DOCUMENTS]],
  // /healthz and /readyz through Express answer as the probes before it do, draining too (healthFirst).
  ['src/http/routes/health.ts', ['test/http/server/healthFirst.test.ts', DOCUMENTS]],
  // GET, PUT and PATCH /guest-attributes: each one's effect, refusals and limits (attributes).
  ['src/http/routes/attributes.ts', ['test/api/attributes.test.ts', DOCUMENTS]],
  // Which routes make up the process and a deployment: the published documents list each one.
  ['src/http/routes/api.ts', [DOCUMENTS]],
  // PUT/DELETE /notifications/push and /email, and the stop and confirm links: reached only through these suites.
  [
    'src/http/routes/notifications.ts',
    [
      'test/session/notifications/email.test.ts',
      'test/session/notifications/webPush.test.ts',
      'test/session/notifications/pushAndEmail.test.ts',
      DOCUMENTS,
    ],
  ],
  // GET /messages/transcript: its negotiation, its headers and its policy (transcript), routed by key (session).
  ['src/http/routes/transcript.ts', ['test/api/transcript.test.ts', 'test/api/session.test.ts', DOCUMENTS]],
  // A page stream: the chat looked at from its opening to its close (a watch for replies starts then), and each
  // reply it shows recorded as shown, so never pushed or e-mailed.
  [
    'src/http/routes/stream.ts',
    [...CHAT_ROUTES, 'test/session/notifications/webPush.test.ts', 'test/session/notifications/email.test.ts'],
  ],
  ['src/http/routes/', CHAT_ROUTES],
  // The problem document: each field exactly (clientError), an AppError's extensions (errorHandler), requestId (edge).
  [
    'src/http/problem.ts',
    ['test/http/server/clientError.test.ts', 'test/http/middleware/errorHandler.test.ts', 'test/http/edge.test.ts'],
  ],
  // A request Node's parser refuses: its status, words and headers, and the sockets left alone (clientError).
  ['src/http/server/clientError.ts', ['test/http/server/clientError.test.ts']],
  // X-Request-Id: which ids are kept and echoed, which replaced (edge), and the trace that travels with the id (tracing).
  ['src/http/middleware/requestId.ts', ['test/http/edge.test.ts', 'test/observability/tracing.test.ts']],
  // One client's key, and the client behind trusted proxies: its suite and the listener's caps that count by it.
  [
    'src/http/middleware/clientAddress.ts',
    ['test/http/middleware/clientAddress.test.ts', 'test/http/server/connectionCaps.test.ts'],
  ],
  // CORS: its refusals and grants at the edge (cors), the grant replayed per origin (recordedHeaders) and on health.
  [
    'src/http/middleware/cors.ts',
    [
      'test/http/middleware/cors.test.ts',
      'test/http/middleware/recordedHeaders.test.ts',
      'test/http/server/healthFirst.test.ts',
    ],
  ],
  // The live streams' per-session and per-address caps: the streams' suite and the stream route's.
  ['src/http/streams/streamCaps.ts', ['test/http/streams/liveStreams.test.ts', 'test/api/stream.test.ts']],
  // The scrape endpoint on METRICS_PORT, and what each request counts: the metrics suites state them.
  ['src/http/server/metricsListener.ts', ['test/observability/metrics.test.ts', 'test/config/operation.test.ts']],
  [
    'src/http/middleware/observe.ts',
    ['test/http/', 'test/observability/metrics.test.ts', 'test/hostile/metricsCardinality.test.ts'],
  ],
  // Each limit's refusals through the service: sessions and conversation changes, sign-ins, attribute writes, counted in Redis.
  [
    'src/http/middleware/rateLimits.ts',
    [
      // Also what counts as a sign-in, each limiter's skips, words and series; the Redis key of each sign-in and attribute limit.
      'test/http/middleware/rateLimits.test.ts',
      'test/api/startSessionLimits.test.ts',
      'test/api/endChatRoute.test.ts',
      'test/api/signIn.test.ts',
      'test/api/attributes.test.ts',
      'test/api/sharedLimits.test.ts',
    ],
  ],
  [
    'src/http/',
    [
      'test/http/',
      'test/api/session.test.ts',
      'test/api/openapi.test.ts',
      DOCUMENTS,
      'test/hostile/security.test.ts',
      'test/hostile/earlyRefusal.test.ts',
      'test/hostile/churn.test.ts',
    ],
  ],
  // Webhooks: the outbox, its courier and dead letters, by their own suites and the chat that fills the outbox.
  [
    'src/webhooks/',
    ['test/webhooks/', 'test/session/chatWebhooks.test.ts', 'test/http/server/metricsListener.test.ts'],
  ],
  // The queues under the webhook and e-mail outboxes: their own suites (a property test holds Redis to the memory
  // queue) and the webhook couriers that use them. The connection: the store suites and the API's shared ones.
  ['src/store/memory/memoryQueue.ts', ['test/store/', 'test/webhooks/']],
  // The store's contract is held in test/store/ (sharedStore.test.ts runs it on both stores); the API and session
  // suites only lean on the memory store, and every one of their cases covers it: judged there, a mutant takes hours.
  ['src/store/memory/memoryStore.ts', ['test/store/']],
  ['src/store/redis/redisQueue.ts', ['test/store/', 'test/webhooks/']],
  [
    'src/store/redis/redisConnection.ts',
    ['test/store/', 'test/api/sharedStore.test.ts', 'test/api/sharedLimits.test.ts'],
  ],
  // The queue's contract (types only): the suite that holds both queues to it.
  ['src/store/durableQueue.ts', ['test/store/durableQueue.test.ts']],
  // The Redis suites start redis-server beside the service (stryker.jest.config.js keeps them).
  [
    'src/store/',
    [
      'test/store/',
      'test/api/sharedStore.test.ts',
      'test/api/sharedLimits.test.ts',
      'test/api/session.test.ts',
      'test/api/messages.test.ts',
      'test/session/',
    ],
  ],
  ['src/config/', ['test/config/']],
  ['src/observability/', ['test/observability/', 'test/hostile/logLeaks.test.ts']],
  ['src/domain/', ['test/domain/', 'test/api/session.test.ts', 'test/api/messages.test.ts']],
  // The timers: their own suites, each against a stand-in clock or the loop it measures.
  ['src/scheduling/timerRounds.ts', ['test/scheduling/timerRounds.test.ts']],
  ['src/scheduling/fairDeadline.ts', ['test/scheduling/fairDeadline.test.ts']],
  ['src/scheduling/', ['test/scheduling/', 'test/api/session.test.ts', 'test/api/messages.test.ts']],
  // The canary's list of runs in the shared store: its own suite and the canary's, which reads it back.
  [
    'src/deployments/canary/canaryRecords.ts',
    ['test/deployments/canary/canaryRecords.test.ts', 'test/deployments/canary/deploymentCanary.test.ts'],
  ],
  // The deployments: what the process builds once, each deployment on it, the choice of a request's, reloads.
  [
    'src/deployments/',
    [
      'test/deployments/',
      'test/api/severalDeployments.test.ts',
      'test/api/deploymentCeilings.test.ts',
      'test/server/deploymentsReload.test.ts',
      'test/api/session.test.ts',
      'test/api/openapi.test.ts',
      DOCUMENTS,
    ],
  ],
  ['src/demo/', ['test/demo/']],
  // The kit's words for its components: the catalogue chosen, ChatWording given, the page's language on hydration.
  ['client/src/react/wording.tsx', ['test/client/react/wording.test.tsx']],
  // Markdown loaded on first use, never while off (markdownLoading), MessageList with it (transcript), the renderer.
  [
    'client/src/react/markdown.ts',
    ['test/client/react/markdownLoading.test.tsx', 'test/client/transcript.test.tsx', 'test/client/markdown.test.ts'],
  ],
  // The availability line: describeAvailability's words in each case and the notice's live region (wording).
  ['client/src/react/AvailabilityNotice.tsx', ['test/client/react/wording.test.tsx']],
  // The transcript button: the file from the service or the page (transcript), in the kit's words (wording), as a control.
  [
    'client/src/react/TranscriptButton.tsx',
    [
      'test/client/react/transcriptButton.test.tsx',
      'test/client/transcript.test.tsx',
      'test/client/react/wording.test.tsx',
    ],
  ],
  // What the service answers about availability and its freshness, and the hook that asks it again and tells it.
  ['client/src/availability.ts', ['test/client/availability.test.ts', 'test/client/react/useAvailability.test.tsx']],
  [
    'client/src/react/useAvailability.ts',
    ['test/client/react/useAvailability.test.tsx', 'test/client/availability.test.ts'],
  ],
  // Start, resume, a lost token replaced, the end, attributes and capabilities: the requests (session),
  // against the service (bffClient), the end in every tab (tabs), a new chat started over a held one (useChat).
  [
    'client/src/session.ts',
    [
      'test/client/session.test.ts',
      'test/client/bffClient.test.ts',
      'test/client/tabs.test.ts',
      'test/client/react/useChat.test.tsx',
    ],
  ],
  // The opt-in to reply notifications: its own suite states when it is offered, each state and its words.
  ['client/src/react/ReplyNotifications.tsx', ['test/client/react/replyNotifications.test.tsx']],
  // useChat's attention: the hook over attentionTo (useAttention), and the unread count in a chat's tabs (chatTabs).
  [
    'client/src/react/useAttention.ts',
    ['test/client/react/useAttention.test.tsx', 'test/client/react/chatTabs.test.tsx'],
  ],
  // A failure as the page sees it: its own suite, and the client's failures against the service (bffClient).
  ['client/src/errors.ts', ['test/client/errors.test.ts', 'test/client/bffClient.test.ts']],
  // Sign-in and sign-out: the requests (signIn), mid-chat against the service (bffClient, useChat), retried while
  // the store is away (storeOutage).
  [
    'client/src/signIn.ts',
    [
      'test/client/signIn.test.ts',
      'test/client/bffClient.test.ts',
      'test/client/storeOutage.test.ts',
      'test/client/react/useChat.test.tsx',
    ],
  ],
  // The browser kit, in jsdom and against the service in process: its own suites (the Chromium suites run the built
  // kit in a browser, whose coverage Stryker does not see).
  ['client/src/', ['test/client/']],
  ['src/server.ts', ['test/server/', 'test/http/server/httpServer.test.ts']],
  ['src/processMain.ts', ['test/server/']],
  ['src/processFailures.ts', ['test/server/']],
];

/**
 * Modules no in-process suite can judge, each with why: `npm run test:mutation` skips them,
 * `changed` lists them, and the table names them apart from the modules not mutated yet.
 */
const OUT_OF_PROCESS = [
  [
    'src/main.ts',
    'the entry point only hands the real process to src/processMain.ts (mutated, judged in process by test/server/processMain.test.ts); it runs only as a process of its own, which test/server/lifecycle.test.ts starts as a child, whose coverage Stryker does not see per test',
  ],
  [
    'src/tools/',
    'npm run verify:genesys (src/tools/, checks a real Genesys or the simulator) runs as its own process; its suite (test/tools/verifyGenesys.test.ts, lane full) starts it as a child, whose coverage Stryker does not see per test',
  ],
];

/** Why no in-process suite judges a module, or undefined when some do. */
function outOfProcess(module) {
  return OUT_OF_PROCESS.find(([prefix]) => module.startsWith(prefix))?.[1];
}

/** The area a module belongs to: its prefix, or undefined (judged by every suite). */
function areaOf(module) {
  return AREAS.find(([prefix]) => module.startsWith(prefix))?.[0];
}

/** The test paths (files or folders) that judge a module, or undefined for every suite. */
function judgesOf(module) {
  return AREAS.find(([prefix]) => module.startsWith(prefix))?.[1];
}

module.exports = { AREAS, OUT_OF_PROCESS, areaOf, judgesOf, outOfProcess };
