import { z } from 'zod';
import { availabilityEnv } from './availabilityVariables';
import { canaryEnv, DEFAULT_CANARY_ATTRIBUTE } from './canaryVariables';
import { notificationEnv, vapidPairProblem } from './notificationVariables';
import {
  DEPLOYMENT_NAME,
  GENESYS_ID,
  originOverlaps,
  type Deployment,
  type NotificationsConfig,
  type SettingNames,
} from './deployment';
import { baseUrl, metaOf } from './envValues';
import { maskingOf, maskingSchema } from './masking';
import { parseOriginPattern } from './originAllowlist';
import { baseUrlsFor, findRegion, REGIONS } from './regions';
import { redirectUriProblem } from './signInCallbacks';
import { inWords, type Naming } from './deploymentProblems';
import { envSchema } from './variables';
import { eventList, webhookSecretProblem, webhookUrlProblem } from './webhookVariables';

/**
 * The rules of a deployment (docs/configuration.md#the-deployments-file), written once: an entry of a deployments
 * file is checked by them, and so is the entry the single-deployment variables describe (deploymentVariables.ts).
 * Every problem is reported, each where its reader finds it: `Naming` says how (a key of the file, or a variable).
 */

export type { Naming };

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const issue = (ctx: z.RefinementCtx, message: string, path: PropertyKey[] = []) =>
  ctx.addIssue({ code: 'custom', message, path });

/** Text: `what` says what belongs there when it is missing. */
const textFor = (what: string) =>
  z
    .string({ error: (i) => (i.input === undefined ? `is required: ${what}` : `must be text: ${what}`) })
    .trim()
    .min(1, `may not be blank: ${what}`);

/** A whole number with the bounds and default of the variable that sets it for the variables' deployment. */
function wholeLike(variable: z.ZodType) {
  const { minimum: min = 0, maximum: max = Number.MAX_SAFE_INTEGER, default: fallback } = metaOf(variable);
  return z
    .unknown()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return Number(fallback);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        issue(ctx, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
        return z.NEVER;
      }
      return v;
    });
}

const region = textFor('the region domain (e.g. mypurecloud.ie) or its AWS name (e.g. eu-west-1)').transform(
  (v, ctx) => {
    const found = findRegion(v);
    if (!found) {
      issue(
        ctx,
        `"${v}" is not a Genesys Cloud region; use one of: ` +
          REGIONS.map((r) => `${r.domain} (${r.awsRegion})`).join(', '),
      );
      return z.NEVER;
    }
    return found;
  },
);

const genesysId = (what: string) =>
  textFor(what).refine((v) => GENESYS_ID.test(v), {
    error: (i) =>
      `must be a Genesys id (a UUID) such as 6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f (got "${String(i.input)}")`,
  });

const origin = textFor('an origin such as https://shop.example.com').superRefine((v, ctx) => {
  const pattern = parseOriginPattern(v);
  if (typeof pattern === 'string') issue(ctx, pattern);
});

const presentedOrigin = textFor('the Origin presented to Genesys').refine(
  (v) => /^https?:\/\/[^/\s]+$/.test(v) && URL.canParse(v),
  { error: (i) => `must be an origin such as https://shop.example.com (got "${String(i.input)}")` },
);

const variableName = textFor('the name of an environment variable').regex(
  VARIABLE_NAME,
  'must be the name of an environment variable, such as BRAND_A_CLIENT_SECRET',
);

const url = (schemes: string[]) => z.string({ error: 'must be text: a URL' }).optional().pipe(baseUrl('', schemes));

const identity = z.strictObject({
  jwtSecret: textFor('the HS256 secret').optional(),
  jwtSecretEnv: variableName.optional(),
  jwksUrl: url(['https:', 'http:']),
  issuer: textFor('the `iss` your backend puts in identity tokens'),
  audience: textFor('the `aud` your backend puts in identity tokens'),
  clockToleranceSeconds: wholeLike(envSchema.shape.IDENTITY_CLOCK_TOLERANCE_SECONDS),
  maxTokenAgeSeconds: wholeLike(envSchema.shape.IDENTITY_MAX_TOKEN_AGE_SECONDS),
});

const availability = z.strictObject({
  queueIds: z.array(genesysId('a queue id')).optional(),
  scheduleGroupId: genesysId('a schedule group id').optional(),
  emergencyGroupId: genesysId('an emergency group id').optional(),
  refreshSeconds: wholeLike(availabilityEnv.AVAILABILITY_REFRESH_SECONDS),
  staleSeconds: wholeLike(availabilityEnv.AVAILABILITY_STALE_SECONDS),
});

/** A whole number within the bounds of the variable that sets it, or nothing (a feature that is off until given). */
function optionalWholeLike(variable: z.ZodType) {
  const { minimum: min = 0, maximum: max = Number.MAX_SAFE_INTEGER } = metaOf(variable);
  return z
    .unknown()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        issue(ctx, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
        return z.NEVER;
      }
      return v;
    });
}

/** A custom attribute's name as a canary gives it: letters, digits, `_`, `-` and `.`, a letter first. */
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

const canaryAttribute = textFor('a custom attribute as name=value, e.g. genesysBffCanary=true').transform((v, ctx) => {
  const at = v.indexOf('=');
  const name = at < 0 ? '' : v.slice(0, at).trim();
  const value = at < 0 ? '' : v.slice(at + 1).trim();
  if (!ATTRIBUTE_NAME.test(name) || value === '' || value.length > 256 || /\p{Cc}/u.test(value)) {
    issue(
      ctx,
      'must be a custom attribute as name=value (a name of letters, digits, _ - and ., a letter first, at most 64; ' +
        `a value of 1 to 256 characters), e.g. ${DEFAULT_CANARY_ATTRIBUTE} (got "${v}")`,
    );
    return z.NEVER;
  }
  return { name, value };
});

const canary = z.strictObject({
  intervalSeconds: optionalWholeLike(canaryEnv.CANARY_INTERVAL_SECONDS),
  attribute: canaryAttribute.optional(),
  expect: textFor("text the flow's first answer must contain").optional(),
});

const notifications = z.strictObject({
  vapidPublicKey: textFor('the VAPID public key (base64url)').optional(),
  vapidPrivateKey: textFor('the VAPID private key (base64url)').optional(),
  vapidPrivateKeyEnv: variableName.optional(),
  vapidSubject: textFor('a mailto: address or an https: URL')
    .refine((v) => /^mailto:[^\s@]+@[^\s@]+$/.test(v) || (v.startsWith('https://') && URL.canParse(v)), {
      error: (i) => `must be a mailto: address or an https: URL (got "${String(i.input)}")`,
    })
    .optional(),
  afterSeconds: wholeLike(notificationEnv.NOTIFY_AFTER_SECONDS),
  // `on` or `off` as the variable says it, true or false in a file.
  preview: z
    .union([z.boolean(), z.enum(['on', 'off'])], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === true || v === 'on'),
  smtpUrl: textFor('the SMTP relay URL, smtps:// or smtp://')
    .refine((v) => URL.canParse(v) && ['smtp:', 'smtps:'].includes(new URL(v).protocol), {
      error: 'must be an smtps:// or smtp:// URL',
    })
    .optional(),
  smtpUrlEnv: variableName.optional(),
  emailFrom: textFor('the sender address of the e-mails')
    .refine((v) => /^[^\s@<>]+@[^\s@<>]+$/.test(v) || /^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(v), {
      error: (i) => `must be an address, or "Name <address>" (got "${String(i.input)}")`,
    })
    .optional(),
  emailAfterSeconds: wholeLike(notificationEnv.EMAIL_AFTER_SECONDS),
  emailPreview: z
    .union([z.boolean(), z.enum(['on', 'off'])], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === true || v === 'on'),
  emailDailyMax: wholeLike(notificationEnv.EMAIL_DAILY_MAX),
});

const signInUri = textFor('a sign-in callback URL').superRefine((v, ctx) => {
  const problem = redirectUriProblem(v);
  if (problem) issue(ctx, `"${v}" ${problem}`);
});

/** The most webhook endpoints one deployment may have. */
export const MAX_WEBHOOK_ENDPOINTS = 10;

const webhook = z.strictObject({
  url: textFor('the https URL the events are posted to').superRefine((v, ctx) => {
    const problem = webhookUrlProblem(v);
    if (problem) issue(ctx, problem);
  }),
  secret: textFor('the whsec_ signing secret').optional(),
  secretEnv: variableName.optional(),
  events: eventList.optional(),
});

/** One deployment as written: a file's entry, or what the variables say. */
export const entrySchema = z.strictObject({
  name: textFor('a short id for metrics and logs, e.g. brand-a').regex(
    DEPLOYMENT_NAME,
    'must be lower-case letters, digits and -, a letter first, at most 32 characters (e.g. brand-a)',
  ),
  region,
  deploymentId: genesysId('the Messenger deployment id (Admin > Message > Messenger Deployments)'),
  origins: z
    .array(origin, {
      error: (i) =>
        `${i.input === undefined ? 'is required' : 'must be a list'}: ` +
        'the origins of the websites this deployment serves, e.g. https://shop.example.com',
    })
    .min(1, 'is required: the origins of the websites this deployment serves, e.g. https://shop.example.com'),
  genesysOrigin: presentedOrigin.optional(),
  clientId: textFor('the OAuth client-credentials client id').optional(),
  clientSecret: textFor("the OAuth client's secret").optional(),
  clientSecretEnv: variableName.optional(),
  loginUrl: url(['https:', 'http:']),
  apiUrl: url(['https:', 'http:']),
  webMessagingUrl: url(['wss:', 'ws:']),
  cdnUrl: url(['https:', 'http:']),
  // `on` or `off` as the variable says it, true or false in a file.
  readReceipts: z
    .union([z.boolean(), z.enum(['on', 'off'])], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === true || v === 'on'),
  identity: identity.optional(),
  signIn: z.strictObject({ redirectUris: z.array(signInUri) }).optional(),
  // Parsed when absent too, so that its numbers take their defaults.
  availability: availability.prefault({}),
  canary: canary.optional(),
  masking: maskingSchema.optional(),
  webhooks: z
    .array(webhook)
    .max(MAX_WEBHOOK_ENDPOINTS, `may list at most ${MAX_WEBHOOK_ENDPOINTS} endpoints`)
    .optional(),
  notifications: notifications.prefault({}),
});

type Entry = z.infer<typeof entrySchema>;
type Raw = Record<string, unknown>;

const given = (value: unknown) => value !== undefined;
const asText = (value: unknown) => (typeof value === 'string' ? value.trim() : undefined);
const isObject = (value: unknown): value is Raw => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The rules between keys of one entry, read from it as written: they are reported with its other problems, even
 * when some key is wrong. A secret is given inline (`key`) or as the name of the variable holding it (`keyEnv`).
 */
function pairingProblems(raw: Raw, env: NodeJS.ProcessEnv, name: Naming['key']): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  const secret = (at: string, from: Raw, key: string) => {
    if (given(from[key]) && given(from[`${key}Env`]))
      problems.push([`${at}${key}`, `give ${key} or ${key}Env, not both`]);
    const variable = asText(from[`${key}Env`]);
    if (variable && VARIABLE_NAME.test(variable) && !env[variable]?.trim()) {
      problems.push([`${at}${key}Env`, `names the environment variable ${variable}, which is not set`]);
    }
  };
  secret('', raw, 'clientSecret');
  const hasSecret = given(raw.clientSecret) || given(raw.clientSecretEnv);
  if (!given(raw.clientId) && hasSecret) problems.push(['clientId', `is required with ${name('clientSecret')}`]);
  if (given(raw.clientId) && !hasSecret) problems.push(['clientSecret', `is required with ${name('clientId')}`]);
  const origins = Array.isArray(raw.origins) ? (raw.origins as unknown[]) : [];
  if (!given(raw.genesysOrigin) && origins.length > 0 && origins.every((o) => asText(o)?.includes('*'))) {
    problems.push([
      'genesysOrigin',
      `is required when ${name('origins')} has no exact origin: the Origin this service presents to Genesys, ` +
        "one of the deployment's allowed domains",
    ]);
  }
  if (isObject(raw.identity)) {
    const i = raw.identity;
    secret('identity.', i, 'jwtSecret');
    const sources = [i.jwtSecret ?? i.jwtSecretEnv, i.jwksUrl].filter(given).length;
    if (sources !== 1) {
      problems.push([
        'identity',
        `give ${name('identity.jwtSecret')} (HS256) or ${name('identity.jwksUrl')} (asymmetric keys): exactly one`,
      ]);
    }
    const jwtSecret = asText(i.jwtSecret) ?? env[asText(i.jwtSecretEnv) ?? '']?.trim();
    if (jwtSecret && jwtSecret.length < 32) problems.push(['identity.jwtSecret', 'must be at least 32 characters']);
  }
  if (Array.isArray(raw.webhooks)) {
    raw.webhooks.forEach((w: unknown, i) => {
      if (!isObject(w)) return;
      const at = `webhooks.${i}.`;
      secret(at, w, 'secret');
      const value = asText(w.secret) ?? env[asText(w.secretEnv) ?? '']?.trim();
      if (!given(w.secret) && !given(w.secretEnv))
        problems.push([`${at}secret`, `is required: give ${name('webhooks.secret')}, the whsec_ signing secret`]);
      else if (value) {
        const problem = webhookSecretProblem(value);
        if (problem) problems.push([`${at}secret`, problem]);
      }
    });
  }
  if (isObject(raw.notifications)) {
    const n = raw.notifications;
    secret('notifications.', n, 'vapidPrivateKey');
    const privateKey = asText(n.vapidPrivateKey) ?? env[asText(n.vapidPrivateKeyEnv) ?? '']?.trim();
    const parts = [n.vapidPublicKey, n.vapidPrivateKey ?? n.vapidPrivateKeyEnv, n.vapidSubject].filter(given).length;
    if (parts !== 0 && parts !== 3) {
      problems.push([
        'notifications',
        `give ${name('notifications.vapidPublicKey')}, ${name('notifications.vapidPrivateKey')} and ` +
          `${name('notifications.vapidSubject')} together (Web Push), or none of them`,
      ]);
    }
    const publicKey = asText(n.vapidPublicKey);
    const problem = publicKey && privateKey ? vapidPairProblem(publicKey, privateKey) : undefined;
    if (problem) problems.push(['notifications.vapidPublicKey', problem]);
    secret('notifications.', n, 'smtpUrl');
    if (given(n.smtpUrl ?? n.smtpUrlEnv) !== given(n.emailFrom)) {
      problems.push([
        'notifications',
        `give ${name('notifications.smtpUrl')} and ${name('notifications.emailFrom')} together (e-mail), or neither`,
      ]);
    }
  }
  return problems;
}

function defaultCanaryAttribute(): { name: string; value: string } {
  const [name, value] = DEFAULT_CANARY_ATTRIBUTE.split('=');
  return { name: name!, value: value! };
}

/**
 * The Origin the entry presents to Genesys, and its settings as messages name them. The Origin is named by the setting
 * that gave it or, when that is unset, by the entry of the origins it was taken from, so a warning about it does not
 * blame a setting nobody wrote.
 */
function originAndNamesOf(e: Entry, naming: Naming): { origin: string; named: SettingNames } {
  const setting = (...keys: string[]) => naming.settings(e.name, keys);
  const origin = e.genesysOrigin ?? e.origins.find((o) => !o.includes('*'))!;
  return {
    origin,
    named: {
      deploymentId: setting('deploymentId'),
      region: setting('region'),
      origins: setting('origins'),
      credentials: setting('clientId', 'clientSecret'),
      origin:
        e.genesysOrigin !== undefined
          ? `${setting('genesysOrigin')} (${origin})`
          : `${setting('genesysOrigin')} (unset: the first exact ${naming.key('origins')} entry, ${origin})`,
    },
  };
}

/** A valid entry (its pairing problems none) as a Deployment, its secrets read from `env`. */
function deploymentFromEntry(e: Entry, env: NodeJS.ProcessEnv, naming: Naming): Deployment {
  const read = (inline: string | undefined, variable: string | undefined) => inline ?? env[variable ?? '']?.trim();
  const clientSecret = read(e.clientSecret, e.clientSecretEnv);
  const derived = baseUrlsFor(e.region.domain);
  return {
    name: e.name,
    genesys: {
      region: e.region,
      deploymentId: e.deploymentId,
      ...originAndNamesOf(e, naming),
      loginUrl: e.loginUrl ?? derived.loginUrl,
      apiUrl: e.apiUrl ?? derived.apiUrl,
      webMessagingUrl: e.webMessagingUrl ?? derived.webMessagingUrl,
      cdnUrl: e.cdnUrl ?? derived.cdnUrl,
      credentials:
        e.clientId !== undefined && clientSecret !== undefined ? { clientId: e.clientId, clientSecret } : undefined,
    },
    allowedOrigins: e.origins,
    readReceipts: e.readReceipts,
    identity: e.identity && {
      jwtSecret: read(e.identity.jwtSecret, e.identity.jwtSecretEnv),
      jwksUrl: e.identity.jwksUrl,
      issuer: e.identity.issuer,
      audience: e.identity.audience,
      clockToleranceSeconds: e.identity.clockToleranceSeconds,
      maxTokenAgeSeconds: e.identity.maxTokenAgeSeconds,
    },
    signInRedirectUris: e.signIn?.redirectUris,
    webhooks: (e.webhooks ?? []).map((w) => ({
      url: w.url,
      secret: read(w.secret, w.secretEnv)!,
      ...(w.events ? { events: [...new Set(w.events)] } : {}),
    })),
    availability: {
      queueIds: e.availability.queueIds ?? [],
      scheduleGroupId: e.availability.scheduleGroupId,
      emergencyGroupId: e.availability.emergencyGroupId,
      refreshMs: e.availability.refreshSeconds * 1000,
      staleMs: e.availability.staleSeconds * 1000,
    },
    canary: {
      intervalMs: e.canary?.intervalSeconds === undefined ? undefined : e.canary.intervalSeconds * 1000,
      attribute: e.canary?.attribute ?? defaultCanaryAttribute(),
      expect: e.canary?.expect,
    },
    masking: maskingOf(e.masking),
    notifications: notificationsOf(
      e.notifications,
      read(e.notifications.vapidPrivateKey, e.notifications.vapidPrivateKeyEnv),
      read(e.notifications.smtpUrl, e.notifications.smtpUrlEnv),
    ),
  };
}

/** The entry's notification settings (its VAPID pair only when all three parts are given: pairingProblems). */
function notificationsOf(
  n: Entry['notifications'],
  privateKey: string | undefined,
  smtpUrl: string | undefined,
): NotificationsConfig {
  const { vapidPublicKey: publicKey, vapidSubject: subject, emailFrom: from } = n;
  return {
    push: publicKey && privateKey && subject ? { publicKey, privateKey, subject } : undefined,
    email:
      smtpUrl && from
        ? {
            smtpUrl,
            from,
            afterMs: n.emailAfterSeconds * 1000,
            preview: n.emailPreview,
            dailyMax: n.emailDailyMax,
          }
        : undefined,
    afterMs: n.afterSeconds * 1000,
    preview: n.preview,
  };
}

/** The deployments `entries` describe, or every problem with them. */
export type DeploymentsRead = { deployments: Deployment[] } | { problems: string[] };

/**
 * The deployments of `entries` (raw: as a file or the variables give them), checked by every rule; secrets named by
 * variable are read from `env`.
 */
export function deploymentsOf(entries: readonly unknown[], env: NodeJS.ProcessEnv, naming: Naming): DeploymentsRead {
  const problems: string[] = [];
  const deployments: Deployment[] = [];
  entries.forEach((raw, index) => {
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) problems.push(...parsed.error.issues.flatMap((i) => inWords(i, index, naming, entrySchema)));
    const pairing = isObject(raw) ? pairingProblems(raw, env, naming.key) : [];
    for (const [key, message] of pairing)
      problems.push(
        naming.problem(
          index,
          key.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
          message,
        ),
      );
    if (parsed.success && pairing.length === 0) deployments.push(deploymentFromEntry(parsed.data, env, naming));
  });
  problems.push(...acrossEntries(entries, naming));
  return problems.length > 0 ? { problems } : { deployments };
}

/** What is wrong between entries (a name used twice, an origin two deployments share), read as written. */
function acrossEntries(raw: readonly unknown[], naming: Naming): string[] {
  const entries = raw.map((d, i) => {
    const { name, origins } = isObject(d) ? d : {};
    return {
      name: asText(name) ?? `#${i}`,
      allowedOrigins: Array.isArray(origins) ? origins.map((o: unknown) => asText(o) ?? '') : [],
    };
  });
  const problems: string[] = [];
  entries.forEach((e, i) => {
    const first = entries.findIndex((other) => other.name === e.name);
    if (first < i) problems.push(naming.problem(i, ['name'], `"${e.name}" is already deployments[${first}]'s name`));
  });
  for (const { entry: at, earlier } of originOverlaps(entries)) {
    problems.push(
      naming.problem(
        at.deployment,
        ['origins', at.origin],
        `"${at.pattern.source}" overlaps "${earlier.pattern.source}" of deployments[${earlier.deployment}] ` +
          `("${earlier.name}"); each origin must belong to one deployment`,
      ),
    );
  }
  return problems;
}
