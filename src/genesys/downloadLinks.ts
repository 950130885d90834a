/**
 * What a Genesys download link says about itself (docs/genesys-protocol.md#download-links): when it stops
 * working, read from its presigned parameters, and its shape without any of its values, for a report.
 */

/** A link's query parameter, by name in any case (S3 accepts `x-amz-date` as `X-Amz-Date`). */
function parameter(query: URLSearchParams, name: string): string | undefined {
  for (const [k, v] of query) if (k.toLowerCase() === name.toLowerCase()) return v;
  return undefined;
}

/**
 * When a presigned URL stops working (epoch ms), from its own parameters: S3 SigV4 (`X-Amz-Date` +
 * `X-Amz-Expires` seconds) or an `Expires` epoch (S3 SigV2, CloudFront); undefined when it does not say
 * (or is no URL).
 */
export function statedExpiry(url: string): number | undefined {
  let query: URLSearchParams;
  try {
    query = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const date = parameter(query, 'X-Amz-Date');
  const seconds = Number(parameter(query, 'X-Amz-Expires'));
  if (date !== undefined && Number.isFinite(seconds)) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + seconds * 1000;
  }
  const expires = Number(parameter(query, 'Expires')); // NaN when absent
  if (Number.isFinite(expires)) return expires * 1000;
  return undefined;
}

/** A link's shape without its secrets: scheme, host, and the names of its query parameters (`?a&b`), no values. */
export function linkShape(url: string): string {
  try {
    const u = new URL(url);
    const names = [...new Set([...u.searchParams.keys()])];
    return `${u.protocol}//${u.host}/…${names.length ? `?${names.join('&')}` : ''}`;
  } catch {
    return 'not a URL';
  }
}
