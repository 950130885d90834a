import { startNginx, type Nginx } from '../support/nginx';
import { freePort } from '../support/ports';

/**
 * deploy/nginx/bff.conf when no instance answers (all stopped, or the one a
 * request was on died): nginx's own answer is problem+json with Retry-After,
 * like every answer of the service, never its HTML error page.
 *
 * @needs nginx
 */
let proxy: Nginx;

beforeAll(async () => {
  // Two ports nobody listens on: every instance refuses the connection.
  proxy = await startNginx([`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`]);
});
afterAll(() => proxy?.stop());

test.each([
  ['POST', '/messages?routingKey=abcdefghijklmnop'],
  ['GET', '/messages/stream?routingKey=abcdefghijklmnop'],
  ['POST', '/guest-session'],
])('%s %s with no instance answering is 503 problem+json with Retry-After', async (method, path) => {
  const res = await fetch(`${proxy.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: method === 'POST' ? '{}' : undefined,
  });
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('retry-after')).toBe('1');
  expect(await res.json()).toEqual({
    type: '/problems/upstream_unavailable',
    title: 'The chat service is unavailable',
    status: 503,
    detail: expect.stringContaining('No instance of the chat service answered'),
    code: 'upstream_unavailable',
  });
});
