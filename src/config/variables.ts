import { z } from 'zod';
import { baseUrlsFor, REGIONS } from './regions';
import { baseUrl, doc, intFrom, oneOf, text, textOr } from './envValues';
import { limitsEnv } from './limits';
import { availabilityEnv } from './availabilityVariables';
import { canaryEnv } from './canaryVariables';
import { observability, processVariables, redis } from './operationVariables';
import { MASKING_MODES, MAX_PATTERN_LENGTH, MAX_PATTERNS, MAX_REPEAT } from './masking';

/**
 * Every environment variable the service reads: how each is parsed, and beside it (`.meta(doc(...))`) what it is for.
 * schema.ts validates them together and checks the rules between them; docs/configuration.md and .env.example are
 * written from this (`npm run docs:config`, reference.ts), so a variable is described here or nowhere.
 */

/** The base URLs a region implies, with `{domain}` for the region's domain. */
const DERIVED = baseUrlsFor('{domain}');
const overrideFor = (host: string) => `Base-URL override of Genesys's ${host}, for a local simulator or tests.`;
const IDENTITY_KEYS = 'with IDENTITY_JWT_SECRET or IDENTITY_JWKS_URL';

const genesys = {
  GENESYS_REGION: text().meta(
    doc({
      group: 'genesys',
      required: true,
      summary:
        'Region domain (mypurecloud.com, mypurecloud.ie, usw2.pure.cloud, ...) or its AWS name (us-east-1, ' +
        'eu-west-1, ...).',
      details:
        'All 18 Genesys Cloud regions are known, in any case and with `_` for `-`; any other value is refused with ' +
        'the list of valid ones.',
      values: REGIONS.flatMap((r) => [r.domain, r.awsRegion]),
    }),
  ),
  GENESYS_DEPLOYMENT_ID: text().meta(
    doc({
      group: 'genesys',
      required: true,
      summary: 'The Messenger deployment id, a UUID (Admin > Message > Messenger Deployments).',
    }),
  ),
  GENESYS_ORIGIN: text().meta(
    doc({
      group: 'genesys',
      required: 'when CORS_ALLOWED_ORIGINS has no exact origin',
      summary:
        "The Origin the service presents on the guest WebSocket; it must be one of the deployment's allowed domains " +
        'if it restricts domains.',
      unset: 'the first exact `CORS_ALLOWED_ORIGINS` entry',
      example: 'https://shop.example.com',
    }),
  ),
  GENESYS_CLIENT_ID: text().meta(
    doc({
      group: 'genesys',
      required: 'with GENESYS_CLIENT_SECRET',
      summary: 'OAuth client-credentials client id, set with GENESYS_CLIENT_SECRET: enables the Platform API features.',
      details:
        'The Platform API features: the deployment check in `/readyz` and later Platform calls. The token is cached ' +
        'in memory and refreshed before it expires.',
    }),
  ),
  GENESYS_CLIENT_SECRET: text().meta(
    doc({
      group: 'genesys',
      required: 'with GENESYS_CLIENT_ID',
      secret: true,
      summary: "The OAuth client's secret, set with GENESYS_CLIENT_ID.",
    }),
  ),
  GENESYS_LOGIN_URL: baseUrl('GENESYS_LOGIN_URL', ['https:', 'http:']).meta(
    doc({
      group: 'genesys',
      summary: overrideFor('login host'),
      unset: `\`${DERIVED.loginUrl}\`, from GENESYS_REGION`,
    }),
  ),
  GENESYS_API_URL: baseUrl('GENESYS_API_URL', ['https:', 'http:']).meta(
    doc({ group: 'genesys', summary: overrideFor('API host'), unset: `\`${DERIVED.apiUrl}\`, from GENESYS_REGION` }),
  ),
  GENESYS_WEBMESSAGING_URL: baseUrl('GENESYS_WEBMESSAGING_URL', ['wss:', 'ws:']).meta(
    doc({
      group: 'genesys',
      summary: overrideFor('Web Messaging host'),
      unset: `\`${DERIVED.webMessagingUrl}\`, from GENESYS_REGION`,
    }),
  ),
  GENESYS_CDN_URL: baseUrl('GENESYS_CDN_URL', ['https:', 'http:']).meta(
    doc({ group: 'genesys', summary: overrideFor('CDN host'), unset: `\`${DERIVED.cdnUrl}\`, from GENESYS_REGION` }),
  ),
  READ_RECEIPTS: oneOf('READ_RECEIPTS', ['off', 'on'], 'off').meta(
    doc({
      group: 'genesys',
      summary:
        "Tell Genesys an agent's or bot's message was read when the page shows it (`POST /messages/read`; " +
        '`capabilities.readReceipts`).',
      details:
        'Sent as a `Receipt` message with status `Read` on the guest socket, once per message. No source says ' +
        'whether Genesys takes one from a web guest: `npm run verify:genesys` reads whether it refuses it; leave it ' +
        'off where it does.',
    }),
  ),
  GENESYS_TIMEOUT_MS: intFrom('GENESYS_TIMEOUT_MS', 10_000, 100, 120_000).meta(
    doc({ group: 'genesys', summary: 'Timeout of each call to Genesys, in milliseconds.' }),
  ),
  GENESYS_MESSAGES_PER_SECOND: intFrom('GENESYS_MESSAGES_PER_SECOND', 2, 1, 100).meta(
    doc({
      group: 'genesys',
      holds: 'session-shared',
      summary:
        "Guest messages sent to Genesys per session per second; a burst is paced, not refused, and Genesys's own " +
        '429s are absorbed.',
      details:
        'Every `onMessage` frame counts: messages, typing, the autostart Join, ending a chat. Genesys announced 2 in ' +
        'December 2023; a copy of its limits page says 5.',
    }),
  ),
  GENESYS_REQUESTS_PER_MINUTE: intFrom('GENESYS_REQUESTS_PER_MINUTE', 60, 1, 10_000).meta(
    doc({
      group: 'genesys',
      holds: 'session',
      summary:
        "Guest API requests one upstream socket sends per minute, Genesys's per-connection budget as its limits page " +
        'gives it.',
      details: 'Half is kept for messages; attachment links and the rest share the other half.',
    }),
  ),
  GENESYS_RECONNECT_WINDOW_SECONDS: intFrom('GENESYS_RECONNECT_WINDOW_SECONDS', 300, 1, 3600).meta(
    doc({
      group: 'genesys',
      summary:
        'How long a session with an open live stream keeps trying to reconnect a dropped Genesys socket, in seconds.',
      details: "Genesys's transport SDK tries for 300 s.",
    }),
  ),
  DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS: intFrom('DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS', 60, 0, 86_400).meta(
    doc({
      group: 'genesys',
      summary:
        'How long a Genesys download link whose URL states no lifetime is reused before Genesys is asked for a new ' +
        'one, in seconds.',
      details:
        'A link that states its expiry (S3 `X-Amz-Date` + `X-Amz-Expires`, or `Expires`) is reused until then, ' +
        'whatever this says. Each new one costs a `getAttachment` from the per-connection budget. ' +
        '`npm run verify:genesys` reports the shape and lifetime of the links the deployment gives; set this to ' +
        'somewhat less than that lifetime; `0` asks Genesys every time.',
    }),
  ),
  DEPLOYMENT_CACHE_TTL_SECONDS: intFrom('DEPLOYMENT_CACHE_TTL_SECONDS', 300, 1, 86_400).meta(
    doc({ group: 'genesys', summary: "How long the deployment's configuration and status are cached, in seconds." }),
  ),
  DEPLOYMENTS_FILE: text().meta(
    doc({
      group: 'genesys',
      summary:
        'Path of a deployments file (YAML or JSON) that lists the Messenger deployments to serve, instead of the ' +
        'variables of one deployment; see [The deployments file](#the-deployments-file).',
      details:
        'It is read and validated at start (and again on SIGHUP), every problem reported with the file and key it ' +
        'is at; every deployment it lists is served, chosen by the request Origin. With it set, the ' +
        "deployment's variables (GENESYS_REGION, GENESYS_DEPLOYMENT_ID, CORS_ALLOWED_ORIGINS, GENESYS_ORIGIN, the " +
        'OAuth client, base-URL overrides, identity, sign-in, availability and masking variables) are refused: ' +
        'their values go in the file. A path that is not absolute is read from the working directory.',
      unset: 'the deployment comes from the variables',
      example: 'deployments.yaml',
    }),
  ),
};

const http = {
  CORS_ALLOWED_ORIGINS: text().meta(
    doc({
      group: 'http',
      required: true,
      summary:
        'Comma-separated origins of the websites that may call the service; `https://*.example.com` covers one ' +
        'label; `*` and `null` are refused.',
      details:
        'Each is exact (`https://shop.example.com`, `http://localhost:3000`) or a one-label wildcard ' +
        '(`https://*.example.com` covers `https://shop.example.com`, not `https://a.b.example.com` nor ' +
        '`https://example.com`). Scheme, host and port must match.',
      example: 'http://localhost:3000',
    }),
  ),
  CORS_MAX_AGE_SECONDS: intFrom('CORS_MAX_AGE_SECONDS', 600, 0, 86_400).meta(
    doc({ group: 'http', summary: '`Access-Control-Max-Age` of preflight answers, in seconds.' }),
  ),
  SESSION_SECRET: text().meta(
    doc({
      group: 'http',
      required: true,
      secret: true,
      summary:
        'At least 32 characters (`openssl rand -base64 48`) sealing the session tokens handed to browsers; a ' +
        'comma-separated list rotates keys: the first seals, all unseal.',
      details: 'Every instance needs the same value.',
    }),
  ),
  SESSION_TTL_SECONDS: intFrom('SESSION_TTL_SECONDS', 86_400, 60, 60 * 60 * 24 * 30).meta(
    doc({ group: 'http', summary: 'Lifetime of a browser session token, in seconds (at most 30 days).' }),
  ),
  TRUST_PROXY: text().meta(
    doc({
      group: 'http',
      summary:
        'Express `trust proxy`: `false`, `true`, a hop count such as `1`, or addresses/subnets such as `10.0.0.0/8`; ' +
        'set it behind a load balancer so that client IPs are right.',
      details:
        'Client IPs (rate limits, logs) then come from `X-Forwarded-For`: give the number of proxies in front of the ' +
        'service, or their addresses. `true` trusts every hop, so a client that can reach the service directly picks ' +
        'its own address and walks past the per-address limits; the service warns at start-up when it is set.',
      default: 'false',
    }),
  ),
  PUBLIC_URL: baseUrl('PUBLIC_URL', ['https:', 'http:']).meta(
    doc({
      group: 'http',
      summary: 'Where browsers reach the service: the base of the always-fresh attachment links it hands out.',
      unset: 'each link uses the scheme and host of the request it answers, as seen through `TRUST_PROXY`',
      example: 'https://chat-api.example.com',
    }),
  ),
};

const identity = {
  IDENTITY_JWT_SECRET: text().meta(
    doc({
      group: 'identity',
      secret: true,
      summary:
        'Verify identity tokens from your own backend signed with HS256, with this secret of at least 32 characters; ' +
        'set this or IDENTITY_JWKS_URL, not both.',
    }),
  ),
  IDENTITY_JWKS_URL: baseUrl('IDENTITY_JWKS_URL', ['https:', 'http:']).meta(
    doc({
      group: 'identity',
      summary:
        "Or verify identity tokens signed with asymmetric keys: the URL of your backend's JWKS (its public keys).",
      example: 'https://shop.example.com/.well-known/jwks.json',
    }),
  ),
  IDENTITY_ISSUER: text().meta(
    doc({
      group: 'identity',
      required: IDENTITY_KEYS,
      summary: 'The `iss` your backend puts in identity tokens.',
      example: 'https://shop.example.com',
    }),
  ),
  IDENTITY_AUDIENCE: text().meta(
    doc({
      group: 'identity',
      required: IDENTITY_KEYS,
      summary: 'The `aud` your backend puts in identity tokens.',
      example: 'genesys-bff',
    }),
  ),
  IDENTITY_CLOCK_TOLERANCE_SECONDS: intFrom('IDENTITY_CLOCK_TOLERANCE_SECONDS', 30, 0, 300).meta(
    doc({ group: 'identity', summary: 'Clock skew allowed when checking identity-token times, in seconds.' }),
  ),
  IDENTITY_MAX_TOKEN_AGE_SECONDS: intFrom('IDENTITY_MAX_TOKEN_AGE_SECONDS', 3600, 10, 86_400).meta(
    doc({ group: 'identity', summary: 'The longest lifetime (`exp` - `iat`) an identity token may have, in seconds.' }),
  ),
  SIGN_IN_REDIRECT_URIS: text().meta(
    doc({
      group: 'identity',
      summary:
        "Comma-separated callback URLs of your site's sign-in; a sign-in's `redirectUri` must be one of them " +
        'exactly, else `400`.',
      unset: 'any http(s) URL on an origin `CORS_ALLOWED_ORIGINS` allows',
      example: 'https://shop.example.com/signed-in',
    }),
  ),
};

const attributeKey = (fallback: string, summary: string) =>
  textOr(fallback).meta(doc({ group: 'attributes', summary }));

const attributes = {
  ATTRIBUTE_KEY_FIRST_NAME: attributeKey('firstName', "Custom-attribute key for the guest's first name."),
  ATTRIBUTE_KEY_LAST_NAME: attributeKey('lastName', "Custom-attribute key for the guest's last name."),
  ATTRIBUTE_KEY_EMAIL: attributeKey('email', "Custom-attribute key for the guest's email."),
  ATTRIBUTE_KEY_PHONE: attributeKey('phone', "Custom-attribute key for the guest's phone number."),
  ATTRIBUTE_KEY_CUSTOMER_ID: attributeKey('customerId', "Custom-attribute key for an identity token's `sub`."),
  ATTRIBUTE_KEY_IDENTITY_VERIFIED: attributeKey(
    'identityVerified',
    'Custom-attribute key the service sets to `"true"` after verifying an identity token; the browser can never set ' +
      'it.',
  ),
  ATTRIBUTE_KEY_IDENTITY_ISSUER: attributeKey(
    'identityIssuer',
    "Custom-attribute key the service sets to the verified identity token's issuer; the browser can never set it.",
  ),
};

const masking = {
  MASKING: text().meta(
    doc({
      group: 'masking',
      summary:
        "Comma-separated detectors whose finds in the guest's text, attribute values and file names are hidden " +
        'before Genesys, logs, spans, the shared store or anything else sees them: `card`, `iban`, and the names ' +
        'of MASKING_PATTERNS.',
      details:
        '`card`: 13 to 19 digits, alone or grouped with single spaces or dashes, that pass the Luhn check. `iban`: ' +
        'a country code, two check digits and up to 30 letters and digits, spaced in fours or not, that pass the ' +
        'mod-97 check. A number that fails its check is left as it is. What a masked text looks like, the notice ' +
        'the guest gets and the `422` of `refuse`: [docs/api.md](api.md#masking).',
      unset: 'off: nothing is masked',
      example: 'card,iban',
    }),
  ),
  MASKING_MODE: text().meta(
    doc({
      group: 'masking',
      summary:
        'What a find does: `mask` hides it and sends the rest; `refuse` answers `422 sensitive_data` and sends ' +
        'nothing.',
      default: 'mask',
      values: [...MASKING_MODES],
    }),
  ),
  MASKING_PATTERNS: text().meta(
    doc({
      group: 'masking',
      summary:
        'Extra detectors as a JSON object of names to regular expressions (`/…/i` ignores case); each is on once ' +
        'MASKING names it.',
      details:
        `A name is lower-case letters, digits, \`-\` and \`_\`, a letter first (at most 32); at most ${MAX_PATTERNS} ` +
        'patterns. Node has no linear-time regular expressions, so a pattern that could backtrack without end ' +
        `is refused at start: at most ${MAX_PATTERN_LENGTH} characters; no backreference; no repeated group that ` +
        'holds a repetition or alternatives (`(a+)+`, `(\\.\\w+)*`, `(a|ab)+`: write `[\\w.]+` instead); ' +
        `counts at most ${MAX_REPEAT}; and it must not match empty text. What it cannot refuse is the polynomial ` +
        "cost of repetitions side by side (`\\d+\\s*\\d+`), which the text's 4096-byte cap bounds. Every " +
        'letter and digit of a match is hidden.',
      example: '{"email":"[\\w.+-]+@[\\w-]+\\.[\\w.-]+"}',
    }),
  ),
};

/** The variables loadConfig reads. */
export const envSchema = z.object({
  ...genesys,
  ...availabilityEnv,
  ...http,
  ...identity,
  ...attributes,
  ...masking,
  ...limitsEnv,
  ...redis,
  ...observability,
  ...canaryEnv,
  ...processVariables,
});

/** The contact centre's states the embedded demo's simulator can be started in (DEMO_AVAILABILITY). */
export const DEMO_AVAILABILITY_STATES = ['open', 'closed', 'busy', 'holiday', 'emergency', 'no_agents'] as const;

/**
 * Variables read before the configuration, by the embedded demo (src/demo) when no Genesys deployment is
 * configured: documented with the rest, never in .env.example (a deployment has no use for them).
 */
export const demoVariables = {
  DEMO_PORT: intFrom('DEMO_PORT', 3000, 0, 65535).meta(
    doc({
      group: 'demo',
      summary: 'Port of the demo chat page that `npm start` serves when no Genesys deployment is configured.',
      details:
        'With neither `GENESYS_REGION` nor `GENESYS_DEPLOYMENT_ID` set, `npm start` runs a local demo: the Genesys ' +
        'simulator, the service on `PORT` and the demo page on this port (`docker-compose.demo.yml` does the same ' +
        'in containers).',
    }),
  ),
  DEMO_AVAILABILITY: oneOf('DEMO_AVAILABILITY', DEMO_AVAILABILITY_STATES, 'open').meta(
    doc({
      group: 'demo',
      summary: "The contact centre's state the demo starts in, as `GET /availability` and the demo page show it.",
      details:
        '`open` (around the clock, agents free), `closed` (opens in about two hours), `busy` (every agent in a ' +
        'conversation, a long wait), `holiday` (closed until tomorrow), `emergency`, `no_agents` (open, nobody on ' +
        "the queue). In a chat, the bot's keywords change it: send one of these words alone (`no agents` for " +
        '`no_agents`).',
      default: 'open',
      values: DEMO_AVAILABILITY_STATES,
    }),
  ),
  DEMO_DEPLOYMENTS: intFrom('DEMO_DEPLOYMENTS', 1, 1, 2).meta(
    doc({
      group: 'demo',
      summary: 'How many Messenger deployments the demo serves: 1, or 2 to see one install serve two sites.',
      details:
        'With 2, the demo starts a second simulator and serves both through a deployments file ' +
        '([The deployments file](#the-deployments-file)): the page at `http://localhost:<DEMO_PORT>` chats with ' +
        'the first deployment, the same page at `http://127.0.0.1:<DEMO_PORT>` with the second (another origin, so ' +
        'another deployment), whose bot greets differently, takes PDF files only and has sign-in off.',
    }),
  ),
};
