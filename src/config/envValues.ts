import { z } from 'zod';

/** The shapes an environment variable can take: each parses a string (or nothing) into a value, or reports what is wrong. */

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const intFrom = (name: string, fallback: number, min: number, max: number) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max} (got "${v}")` });
      return z.NEVER;
    }
    return n;
  });

export const baseUrl = (name: string, schemes: string[]) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `${name} must be an absolute URL such as ${schemes[0]}//127.0.0.1:9000 (got "${v}")`,
      });
      return z.NEVER;
    }
    if (!schemes.includes(url.protocol)) {
      ctx.addIssue({ code: 'custom', message: `${name} must use ${schemes.join(' or ')} (got "${v}")` });
      return z.NEVER;
    }
    return v.replace(/\/+$/, '');
  });
