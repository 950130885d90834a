import { isLoopbackHost, serviceUrlOf } from '../../examples/static-chat/serviceUrl.js';

/**
 * examples/static-chat/serviceUrl.js: where the demo page finds the service. `?bff=` is taken only on a loopback
 * page, so a link cannot point a hosted copy of the page at a service of the link's choosing.
 */
const page = (hostname: string, search = '?bff=https%3A%2F%2Felsewhere.example') => ({ hostname, search });

test('loopback host names', () => {
  for (const host of ['localhost', 'LOCALHOST', 'demo.localhost', '127.0.0.1', '127.9.8.7', '::1', '[::1]'])
    expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: true });
  for (const host of ['shop.example.com', 'localhost.example', '128.0.0.1', '192.0.2.1', '[2001:db8::1]', '127.0.0'])
    expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: false });
});

test('?bff= on a loopback page wins; elsewhere it is ignored for window.BFF_URL, the meta tag or the default', () => {
  expect(serviceUrlOf(page('localhost'), undefined, 'https://meta.example')).toBe('https://elsewhere.example');
  expect(serviceUrlOf(page('shop.example.com'), undefined, 'https://meta.example')).toBe('https://meta.example');
  expect(serviceUrlOf(page('shop.example.com'), 'https://window.example', 'https://meta.example')).toBe(
    'https://window.example',
  );
  expect(serviceUrlOf(page('shop.example.com'), undefined, undefined)).toBe('http://localhost:8080');
  expect(serviceUrlOf(page('127.0.0.1', ''), undefined, 'https://meta.example')).toBe('https://meta.example');
});
