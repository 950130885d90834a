import { z } from 'zod';

/**
 * The shapes an environment variable can take: each parses a string (or nothing) into a value, or reports what is
 * wrong, and records on itself (zod metadata) what it accepts and what unset means. Each variable adds what it is for
 * with `.meta()` (a VariableDoc); docs/configuration.md and .env.example are written from the two (reference.ts).
 */

/** The sections of the configuration reference, in the order it gives them. */
export const VARIABLE_GROUPS = {
  genesys: 'Genesys Cloud',
  http: 'Browsers: CORS, session tokens and the public address',
  identity: 'Sign-in and identity tokens',
  attributes: 'Custom-attribute names',
  masking: 'Masking sensitive data',
  notifications: 'Reaching a customer who left (Web Push and e-mail)',
  limits: 'Limits',
  redis: 'Redis and scaling out',
  webhooks: 'Webhooks',
  observability: 'Logs, metrics and traces',
  process: 'Process',
  demo: 'The embedded demo',
} as const;

export type VariableGroup = keyof typeof VARIABLE_GROUPS;

/**
 * Where a limit holds, whatever number of deployments the instance serves (docs/configuration.md#limits): the
 * instance's own ceiling, each client address's, each chat session's, each deployment's, each request's;
 * `-shared`: with Redis, counted once across every instance.
 */
export type LimitScope =
  'instance' | 'address' | 'address-shared' | 'session' | 'session-shared' | 'deployment-shared' | 'request';

/** What a variable is for: written beside its schema with `.meta()`. */
export type VariableDoc = {
  group: VariableGroup;
  /**
   * One sentence: the comment above the variable in .env.example and the start of its entry in
   * docs/configuration.md. Markdown code spans only (.env.example shows them without the backticks).
   */
  summary: string;
  /** What else docs/configuration.md says (Markdown), after the summary. */
  details?: string;
  /** `true`: always required; a phrase: when it is (`with REDIS_SENTINELS`). Unset: optional. */
  required?: true | string;
  /** What leaving it unset means, when that is not a plain default value (`https://login.{domain}`, `off`). */
  unset?: string;
  /** A value to show in .env.example when there is no default to show. */
  example?: string;
  /** Holds a credential: .env.example never shows a value for it. */
  secret?: true;
  /** A limit: where it holds. */
  holds?: LimitScope;
};

/** What the parsing itself knows, recorded by the shapes below. */
export type VariableBounds = {
  default?: string | number;
  minimum?: number;
  maximum?: number;
  /** URL schemes accepted, with their colon (`https:`). */
  schemes?: readonly string[];
  /** The only values accepted. */
  values?: readonly string[];
};

export type VariableMeta = Partial<VariableDoc> & VariableBounds;

/** A variable's description, typed: `PORT: intFrom('PORT', 8080, 0, 65535).meta(doc({ ... }))`. */
export const doc = (description: VariableDoc & Pick<VariableBounds, 'default' | 'values'>): VariableMeta => description;

/** What has been recorded on a variable's schema (its own and its shape's). */
export function metaOf(schema: z.ZodType): VariableMeta {
  return (z.globalRegistry.get(schema) ?? {}) as VariableMeta;
}

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Text, unset when blank; each call is a schema of its own, to carry one variable's description. */
export const text = () => optionalString.meta({});

/** Text with a value for unset. */
export const textOr = (fallback: string) => optionalString.transform((v) => v ?? fallback).meta({ default: fallback });

function wholeNumber(name: string, v: string, min: number, max: number, ctx: z.RefinementCtx): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max} (got "${v}")` });
    return z.NEVER;
  }
  return n;
}

export const intFrom = (name: string, fallback: number, min: number, max: number) =>
  optionalString
    .transform((v, ctx) => (v === undefined ? fallback : wholeNumber(name, v, min, max, ctx)))
    .meta({ default: fallback, minimum: min, maximum: max });

/** A whole number that may be left unset (a feature that is off until it is given). */
export const optionalIntFrom = (name: string, min: number, max: number) =>
  optionalString
    .transform((v, ctx) => (v === undefined ? undefined : wholeNumber(name, v, min, max, ctx)))
    .meta({ minimum: min, maximum: max });

/** One of `values`, case-insensitive, given in lower case. */
export const oneOf = <const V extends readonly string[]>(name: string, values: V, fallback: V[number]) =>
  optionalString
    .transform((v, ctx) => {
      const value = (v ?? fallback).toLowerCase();
      if (!(values as readonly string[]).includes(value)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be one of ${values.join(', ')} (got "${v}")` });
        return z.NEVER;
      }
      return value as V[number];
    })
    .meta({ default: fallback, values });

/** An absolute URL of one of `schemes`, its trailing slashes dropped; `name` (if any) starts its problems. */
export const baseUrl = (name: string, schemes: string[]) => {
  const subject = name === '' ? '' : `${name} `;
  return optionalString
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `${subject}must be an absolute URL such as ${schemes[0]}//127.0.0.1:9000 (got "${v}")`,
        });
        return z.NEVER;
      }
      if (!schemes.includes(url.protocol)) {
        ctx.addIssue({ code: 'custom', message: `${subject}must use ${schemes.join(' or ')} (got "${v}")` });
        return z.NEVER;
      }
      return v.replace(/\/+$/, '');
    })
    .meta({ schemes });
};
