import fs from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { availabilityEnv } from './availabilityVariables';
import { DEPLOYMENT_NAME, originOverlaps, type Deployment } from './deployments';
import { baseUrl, metaOf } from './envValues';
import { parseOriginPattern } from './originAllowlist';
import { baseUrlsFor, findRegion, REGIONS } from './regions';
import { redirectUriProblem } from './signInCallbacks';
import { envSchema } from './variables';

/**
 * The deployments file (DEPLOYMENTS_FILE, docs/configuration.md#the-deployments-file): YAML or JSON listing each
 * Messenger deployment the service serves, validated as the variables are, every problem reported at once with the
 * file and the key it is at. Each entry takes the single-deployment variables' rules, defaults and bounds.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const issue = (ctx: z.RefinementCtx, message: string, path: PropertyKey[] = []) =>
  ctx.addIssue({ code: 'custom', message, path });

/** Text: `what` says what belongs there when it is missing. */
const textFor = (what: string) =>
  z
    .string({ error: (i) => (i.input === undefined ? `is required: ${what}` : `must be text: ${what}`) })
    .trim()
    .min(1, `may not be blank: ${what}`);

/** A whole number with the bounds and default of the variable that sets it for a single deployment. */
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
      issue(ctx, `"${v}" is not a Genesys Cloud region; use one of: ${REGIONS.map((r) => r.domain).join(', ')}`);
      return z.NEVER;
    }
    return found;
  },
);

const genesysId = (what: string) =>
  textFor(what).refine((v) => UUID.test(v), {
    error: (i) => `must be a Genesys id (a UUID) (got "${String(i.input)}")`,
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

const url = (key: string, schemes: string[]) =>
  z.string({ error: 'must be text: a URL' }).optional().pipe(baseUrl(key, schemes));

const identity = z.strictObject({
  jwtSecret: textFor('the HS256 secret').optional(),
  jwtSecretEnv: variableName.optional(),
  jwksUrl: url('jwksUrl', ['https:', 'http:']),
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

const signInUri = textFor('a sign-in callback URL').superRefine((v, ctx) => {
  const problem = redirectUriProblem(v);
  if (problem) issue(ctx, `"${v}" ${problem}`);
});

const entry = z.strictObject({
  name: textFor('a short id for metrics and logs, e.g. brand-a').regex(
    DEPLOYMENT_NAME,
    'must be lower-case letters, digits and -, a letter first, at most 32 characters (e.g. brand-a)',
  ),
  region,
  deploymentId: genesysId('the Messenger deployment id (Admin > Message > Messenger Deployments)'),
  origins: z
    .array(origin, { error: 'is required: the list of origins of the websites this deployment serves' })
    .min(1, 'must list at least one origin, e.g. https://shop.example.com'),
  genesysOrigin: presentedOrigin.optional(),
  clientId: textFor('the OAuth client-credentials client id').optional(),
  clientSecret: textFor("the OAuth client's secret").optional(),
  clientSecretEnv: variableName.optional(),
  loginUrl: url('loginUrl', ['https:', 'http:']),
  apiUrl: url('apiUrl', ['https:', 'http:']),
  webMessagingUrl: url('webMessagingUrl', ['wss:', 'ws:']),
  cdnUrl: url('cdnUrl', ['https:', 'http:']),
  identity: identity.optional(),
  signIn: z.strictObject({ redirectUris: z.array(signInUri) }).optional(),
  // Parsed when absent too, so that its numbers take their defaults.
  availability: availability.prefault({}),
});

type Entry = z.infer<typeof entry>;

const fileSchema = z.strictObject(
  {
    deployments: z
      .array(z.unknown(), {
        error: (i) =>
          `${i.input === undefined ? 'is required' : 'must be a list'}: ` +
          'the deployments, each with name, region, deploymentId and origins',
      })
      .min(1, 'must list at least one deployment'),
  },
  { error: 'must be a mapping with `deployments:`, the list of deployments' },
);

type Problems = Array<[key: string, message: string]>;
type Raw = Record<string, unknown>;

const given = (value: unknown) => value !== undefined;
const asText = (value: unknown) => (typeof value === 'string' ? value.trim() : undefined);

/**
 * The rules between keys of one entry, read from it as written: they are reported with its other problems, even
 * when some key is wrong. A secret is given inline (`key`) or as the name of the variable holding it (`keyEnv`).
 */
function pairingProblems(raw: Raw, env: NodeJS.ProcessEnv): Problems {
  const problems: Problems = [];
  const secret = (at: string, from: Raw, key: string) => {
    if (given(from[key]) && given(from[`${key}Env`]))
      problems.push([`${at}${key}`, `give ${key} or ${key}Env, not both`]);
    const variable = asText(from[`${key}Env`]);
    if (variable && VARIABLE_NAME.test(variable) && !env[variable]?.trim()) {
      problems.push([`${at}${key}Env`, `the environment variable ${variable} is not set`]);
    }
  };
  secret('', raw, 'clientSecret');
  const hasSecret = given(raw.clientSecret) || given(raw.clientSecretEnv);
  if (!given(raw.clientId) && hasSecret)
    problems.push(['clientId', 'is required with clientSecret or clientSecretEnv']);
  if (given(raw.clientId) && !hasSecret)
    problems.push(['clientSecret', 'or clientSecretEnv is required with clientId']);
  const origins = Array.isArray(raw.origins) ? (raw.origins as unknown[]) : [];
  if (!given(raw.genesysOrigin) && origins.length > 0 && origins.every((o) => asText(o)?.includes('*'))) {
    problems.push(['genesysOrigin', 'is required when origins has no exact origin: the Origin presented to Genesys']);
  }
  const identity = raw.identity;
  if (identity !== null && typeof identity === 'object' && !Array.isArray(identity)) {
    const i = identity as Raw;
    secret('identity.', i, 'jwtSecret');
    const sources = [i.jwtSecret ?? i.jwtSecretEnv, i.jwksUrl].filter(given).length;
    if (sources !== 1) {
      problems.push(['identity', 'give jwtSecret or jwtSecretEnv (HS256), or jwksUrl (asymmetric keys): exactly one']);
    }
    const jwtSecret = asText(i.jwtSecret) ?? env[asText(i.jwtSecretEnv) ?? '']?.trim();
    if (jwtSecret && jwtSecret.length < 32) problems.push(['identity.jwtSecret', 'must be at least 32 characters']);
  }
  return problems;
}

/** A valid entry (its pairing problems none) as a Deployment, its secrets read from `env`. */
function deploymentFromEntry(e: Entry, env: NodeJS.ProcessEnv): Deployment {
  const read = (inline: string | undefined, variable: string | undefined) => inline ?? env[variable ?? '']?.trim();
  const clientSecret = read(e.clientSecret, e.clientSecretEnv);
  const derived = baseUrlsFor(e.region.domain);
  return {
    name: e.name,
    genesys: {
      region: e.region,
      deploymentId: e.deploymentId,
      origin: e.genesysOrigin ?? e.origins.find((o) => !o.includes('*'))!,
      loginUrl: e.loginUrl ?? derived.loginUrl,
      apiUrl: e.apiUrl ?? derived.apiUrl,
      webMessagingUrl: e.webMessagingUrl ?? derived.webMessagingUrl,
      cdnUrl: e.cdnUrl ?? derived.cdnUrl,
      credentials:
        e.clientId !== undefined && clientSecret !== undefined ? { clientId: e.clientId, clientSecret } : undefined,
    },
    allowedOrigins: e.origins,
    identity: e.identity && {
      jwtSecret: read(e.identity.jwtSecret, e.identity.jwtSecretEnv),
      jwksUrl: e.identity.jwksUrl,
      issuer: e.identity.issuer,
      audience: e.identity.audience,
      clockToleranceSeconds: e.identity.clockToleranceSeconds,
      maxTokenAgeSeconds: e.identity.maxTokenAgeSeconds,
    },
    signInRedirectUris: e.signIn?.redirectUris,
    availability: {
      queueIds: e.availability.queueIds ?? [],
      scheduleGroupId: e.availability.scheduleGroupId,
      emergencyGroupId: e.availability.emergencyGroupId,
      refreshMs: e.availability.refreshSeconds * 1000,
      staleMs: e.availability.staleSeconds * 1000,
    },
  };
}

export type DeploymentsRead = ({ deployments: Deployment[] } | { problems: string[] }) & {
  /** The environment variables the file names as holding its secrets. */
  variablesRead: string[];
};

/** `deployments[0].origins[1]`: where an issue is, as the file's author finds it. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

const problemAt = (file: string, path: readonly PropertyKey[], message: string) =>
  `${file}: ${path.length > 0 ? `${keyPath(path)}: ` : ''}${message}`;

/**
 * The deployments in a deployments file's text (YAML, or JSON, which YAML reads too), or every problem with it, each
 * as `file: key: what is wrong`. Secrets given as a variable's name are read from `env`.
 */
export function parseDeploymentsFile(text: string, file: string, env: NodeJS.ProcessEnv): DeploymentsRead {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      variablesRead: [],
      problems: document.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `${file}: line ${line}, column ${col}: ${e.message}`;
      }),
    };
  }
  const data: unknown = document.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    return {
      variablesRead: [],
      problems: [`${file}: is empty; it must hold \`deployments:\`, a list of at least one deployment`],
    };
  }
  const top = fileSchema.safeParse(data);
  if (!top.success) {
    return { variablesRead: [], problems: top.error.issues.map((i) => problemAt(file, i.path, i.message)) };
  }
  const variablesRead = top.data.deployments.flatMap((raw) => {
    const { clientSecretEnv, identity } = (raw ?? {}) as Raw;
    const { jwtSecretEnv } = (identity ?? {}) as Raw;
    return [asText(clientSecretEnv), asText(jwtSecretEnv)].filter((v): v is string => v !== undefined);
  });
  const problems: string[] = [];
  const deployments: Deployment[] = [];
  top.data.deployments.forEach((raw, index) => {
    const at = ['deployments', index];
    const parsed = entry.safeParse(raw);
    if (!parsed.success)
      problems.push(...parsed.error.issues.map((i) => problemAt(file, [...at, ...i.path], i.message)));
    const pairing = parsed.success || (raw !== null && typeof raw === 'object') ? pairingProblems(raw as Raw, env) : [];
    for (const [key, message] of pairing) problems.push(`${file}: ${keyPath(at)}.${key}: ${message}`);
    if (parsed.success && pairing.length === 0) deployments.push(deploymentFromEntry(parsed.data, env));
  });
  problems.push(...acrossEntries(top.data.deployments, file));
  return problems.length > 0 ? { problems, variablesRead } : { deployments, variablesRead };
}

/** What is wrong between entries (a name used twice, an origin two deployments share), read as written. */
function acrossEntries(raw: unknown[], file: string): string[] {
  const entries = raw.map((d, i) => {
    const { name, origins } = (d ?? {}) as Raw;
    return {
      name: asText(name) ?? `#${i}`,
      allowedOrigins: Array.isArray(origins) ? origins.map((o: unknown) => asText(o) ?? '') : [],
    };
  });
  const problems: string[] = [];
  entries.forEach((e, i) => {
    const first = entries.findIndex((other) => other.name === e.name);
    if (first < i)
      problems.push(`${file}: deployments[${i}].name: "${e.name}" is already deployments[${first}]'s name`);
  });
  for (const { entry: at, earlier } of originOverlaps(entries)) {
    problems.push(
      `${file}: deployments[${at.deployment}].origins[${at.origin}]: "${at.pattern.source}" overlaps ` +
        `"${earlier.pattern.source}" of deployments[${earlier.deployment}] ("${earlier.name}"); ` +
        'each origin must belong to one deployment',
    );
  }
  return problems;
}

/** Reads and parses DEPLOYMENTS_FILE (relative to the working directory). */
export function readDeploymentsFile(
  file: string,
  env: NodeJS.ProcessEnv,
  read: (file: string) => string = (f) => fs.readFileSync(f, 'utf8'),
): DeploymentsRead {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    return { problems: [`DEPLOYMENTS_FILE: cannot read "${file}": ${(error as Error).message}`], variablesRead: [] };
  }
  return parseDeploymentsFile(text, file, env);
}
