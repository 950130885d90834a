import type { SettingNames } from '../../config/deployment';
import { parseOriginPattern } from '../../config/originAllowlist';

/**
 * How a Messenger deployment's `allowedDomains` (docs/genesys-protocol.md#web-deployments) apply to
 * an origin. Genesys lets admins write an entry as a bare host
 * (`shop.example.com`), with a scheme or port (`https://shop.example.com`),
 * or with a leading `*.`. Following Messenger JS (`isAllowedDomain`,
 * docs/genesys-protocol.md#guest-websocket) only the hostname counts: an entry allows its own host and
 * every host under it, so `example.com` and `*.example.com` both allow
 * `shop.example.com`. Scheme and port are ignored.
 */
export function normalizeAllowedDomain(entry: string): string {
  let host = entry.trim().toLowerCase();
  if (host.includes('://')) {
    const url = host.replace('://*.', '://');
    // An entry with a scheme that is no URL names no host: it allows nothing.
    if (!URL.canParse(url)) return '';
    host = new URL(url).hostname;
  }
  return host
    .replace(/[/?#].*$/, '')
    .replace(/:\d+$/, '')
    .replace(/^\*\./, '')
    .replace(/\.$/, '');
}

export function domainAllowsHost(allowedDomains: readonly string[], host: string): boolean {
  const wanted = host.toLowerCase();
  return allowedDomains
    .map(normalizeAllowedDomain)
    .some((domain) => domain !== '' && (wanted === domain || wanted.endsWith(`.${domain}`)));
}

interface DomainPolicy {
  allowAllDomains: boolean;
  allowedDomains: readonly string[];
}

/**
 * One sentence per configured origin the deployment does not allow, and one when the Origin presented to Genesys
 * (`genesysOrigin`) is not allowed; `named` names the settings as the deployment's operator wrote them. A wildcard
 * origin (`https://*.example.com`) is covered when an entry allows every host under `example.com`.
 */
export function originMismatches(
  policy: DomainPolicy,
  allowedOrigins: readonly string[],
  genesysOrigin: string,
  named: Pick<SettingNames, 'origins' | 'origin'>,
): string[] {
  if (policy.allowAllDomains) return [];
  const listed = `[${policy.allowedDomains.join(', ')}]`;
  const warnings: string[] = [];
  for (const entry of allowedOrigins) {
    const pattern = parseOriginPattern(entry);
    if (typeof pattern === 'string' || domainAllowsHost(policy.allowedDomains, pattern.host)) continue;
    warnings.push(
      pattern.wildcard
        ? `${named.origins} allows ${pattern.source} but the deployment's allowedDomains ${listed} ` +
            `do not cover every host under ${pattern.host}: Genesys may refuse those origins`
        : `${named.origins} allows ${pattern.source} but the deployment's allowedDomains ${listed} ` +
            `do not include ${pattern.host}: Genesys may refuse this origin`,
    );
  }
  const originHost = hostOf(genesysOrigin);
  if (originHost !== undefined && !domainAllowsHost(policy.allowedDomains, originHost)) {
    warnings.push(
      `${named.origin} is not among the deployment's allowedDomains ${listed}: ` +
        'the guest WebSocket handshake will be refused with 403',
    );
  }
  return warnings;
}

function hostOf(origin: string): string | undefined {
  return URL.canParse(origin) ? new URL(origin).hostname : undefined;
}
