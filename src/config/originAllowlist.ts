/**
 * The CORS allowlist (docs/api.md#http-behaviour-common-to-every-endpoint): exact origins, or a wildcard that covers
 * exactly one subdomain label (`https://*.example.com` matches
 * `https://shop.example.com`, not `https://a.b.example.com` nor
 * `https://example.com`). Scheme, host and port must all match.
 */
export interface OriginPattern {
  scheme: string;
  /** Host without the `*.` prefix, lower case. */
  host: string;
  /** Port as written, or the scheme's default. */
  port: string;
  wildcard: boolean;
  source: string;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Stands in for the `*` of a wildcard entry while URL() parses the rest. */
const WILDCARD_LABEL = 'wildcard-label.';

/** Parses one allowlist entry, or returns why it cannot be one. */
export function parseOriginPattern(entry: string): OriginPattern | string {
  const source = entry.trim();
  if (source === '*') return '"*" would allow every website; list the exact origins instead';
  if (source === 'null') return '"null" is never an allowed origin';
  const wildcard = /^[a-z]+:\/\/\*\./i.test(source);
  let url: URL;
  try {
    url = new URL(wildcard ? source.replace('*.', WILDCARD_LABEL) : source);
  } catch {
    return `"${source}" is not an origin; write it as scheme://host[:port], e.g. https://shop.example.com`;
  }
  const scheme = url.protocol;
  if (!(scheme in DEFAULT_PORTS)) return `"${source}" must use http or https`;
  if (url.pathname !== '/' || url.search || url.hash || url.username || source.endsWith('/')) {
    return `"${source}" has a path, query or trailing slash; an origin is only scheme://host[:port]`;
  }
  const host = wildcard ? url.hostname.slice(WILDCARD_LABEL.length) : url.hostname;
  if (host.includes('*')) return `"${source}" may use * only as the whole first label, e.g. https://*.example.com`;
  if (wildcard && (host.split('.').length < 2 || !host.split('.').every((l) => LABEL.test(l)))) {
    return `"${source}" wildcards too much; a wildcard must sit under a registrable domain, e.g. https://*.example.com`;
  }
  return { scheme, host, port: url.port || DEFAULT_PORTS[scheme]!, wildcard, source };
}

/**
 * Verdicts remembered, by exact Origin value: a website's origin comes with
 * every request it makes, and parsing it is most of the check. Origins longer
 * than this are judged afresh each time, so the memory stays small.
 */
const REMEMBERED_VERDICTS = 1000;
const REMEMBERED_LENGTH = 256;

export class OriginAllowlist {
  /** Origin → verdict, oldest first. */
  private readonly verdicts = new Map<string, boolean>();

  constructor(private readonly patterns: readonly OriginPattern[]) {}

  static parse(entries: readonly string[]): OriginAllowlist {
    const patterns = entries.map((e) => {
      const p = parseOriginPattern(e);
      if (typeof p === 'string') throw new Error(p);
      return p;
    });
    return new OriginAllowlist(patterns);
  }

  get entries(): readonly OriginPattern[] {
    return this.patterns;
  }

  allows(origin: string): boolean {
    const known = this.verdicts.get(origin);
    if (known !== undefined) return known;
    const verdict = this.judge(origin);
    if (origin.length <= REMEMBERED_LENGTH) {
      if (this.verdicts.size >= REMEMBERED_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
      this.verdicts.set(origin, verdict);
    }
    return verdict;
  }

  private judge(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      // Not a URL: the literal "null" of an opaque origin among them.
      return false;
    }
    // A browser Origin is exactly scheme://host[:port]; anything else is not one.
    if (url.origin !== origin) return false;
    const port = url.port || DEFAULT_PORTS[url.protocol];
    const host = url.hostname;
    return this.patterns.some((p) => {
      if (p.scheme !== url.protocol || p.port !== port) return false;
      if (!p.wildcard) return p.host === host;
      // The covered label must be a real DNS label: URL() lets `*` through (and an empty one).
      const dot = host.indexOf('.');
      return host.slice(dot + 1) === p.host && LABEL.test(host.slice(0, dot));
    });
  }
}
