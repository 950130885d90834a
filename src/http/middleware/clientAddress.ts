import { ipKeyGenerator } from 'express-rate-limit';

/**
 * One client, as every per-address limit and cap counts it (the rate limits, STREAMS_PER_IP, UPLOADS_PER_IP,
 * CONNECTIONS_PER_IP): an IPv4 address as it is, an IPv4-mapped IPv6 address as its IPv4 one, and any other IPv6
 * address by its first `ipv6PrefixLength` bits (IPV6_PREFIX_LENGTH, /56 by default), since one subscriber is
 * given a whole /56 or /64 and picks any address in it. Counted by the full address, a client would get a new
 * allowance for every address it takes from its own prefix.
 */
export function clientAddressKey(address: string, ipv6PrefixLength: number): string {
  return ipKeyGenerator(address, ipv6PrefixLength);
}

/**
 * The client a request through trusted proxies comes from, as Express's `req.ip` names it (proxy-addr): walking
 * from the socket's peer back through `X-Forwarded-For` (nearest hop first), the first address `trust` does not
 * trust, or the farthest one given. `trust` is Express's compiled `trust proxy fn` (an address, its hop index).
 * For layers below Express (the listener's caps), which see the raw request only.
 */
export function forwardedClient(
  peer: string,
  forwardedFor: string,
  trust: (address: string, hop: number) => boolean,
): string {
  const hops = [
    peer,
    ...forwardedFor
      .split(',')
      .map((hop) => hop.trim())
      .filter((hop) => hop !== '')
      .reverse(),
  ];
  let hop = 0;
  while (hop < hops.length - 1 && trust(hops[hop]!, hop)) hop++;
  return hops[hop]!;
}
