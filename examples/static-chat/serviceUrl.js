// Where the demo page finds the chat service. `?bff=` is for trying the page against another service locally:
// taken only while the page itself is on a loopback origin, so a link cannot point a copy of the page that is
// hosted somewhere at a service of the link's choosing.

/**
 * A loopback host name: `localhost` (and `*.localhost`), 127.0.0.0/8, or `::1` (with or without brackets).
 * @param {string} hostname
 */
export function isLoopbackHost(hostname) {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/**
 * The service's base URL: `?bff=` on a loopback page, else window.BFF_URL, the bff-url meta tag, or the local default.
 * @param {{ search: string, hostname: string }} page the page's location
 * @param {unknown} fromWindow window.BFF_URL
 * @param {string | undefined} fromMeta the bff-url meta tag's content
 */
export function serviceUrlOf(page, fromWindow, fromMeta) {
  const fromQuery = isLoopbackHost(page.hostname) ? new URLSearchParams(page.search).get('bff') : null;
  return fromQuery || (typeof fromWindow === 'string' && fromWindow) || fromMeta || 'http://localhost:8080';
}
