/*
 * @genesys-bff/client/sw.js: the service worker that shows the chat's replies while no page of it is open.
 *
 * Serve this file from the site's own origin (a service worker must be), e.g. copy it to `public/chat-sw.js`;
 * `subscribeToReplies` registers it with the notification's words in its URL (`?replyFrom=…&reply=…&lang=…&dir=…`),
 * so it speaks the customer's language without a wording file of its own. It loads nothing else.
 *
 * A push from the service is `{ "type": "reply", "from"?, "preview"?, "url" }`. Clicking the notification focuses a
 * window of the site already showing `url`, or opens it; only a URL of this site's origin is ever opened.
 */
/* global self, URL */

const words = new URL(self.location.href).searchParams;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

/**
 * `name` put into `template` at `{from}`, set apart from the words around it (FSI … PDI, as the kit's `isolate`): a
 * name in another script, or ending in digits or punctuation, keeps its own direction in a title of either direction.
 * Taken as it is: a `$&` in a name is not a replacement pattern.
 */
function withName(template, name) {
  return template.replace('{from}', () => '\u2068' + name + '\u2069');
}

/** The payload, or `{}` when it is not the service's JSON (a push must still show a notification). */
function payloadOf(event) {
  try {
    const data = event.data ? event.data.json() : {};
    return data && typeof data === 'object' ? data : {};
  } catch {
    return {};
  }
}

/** `url` when it is a page of this site; else the site's root. */
function pageOf(url) {
  try {
    const page = new URL(typeof url === 'string' ? url : '/', self.location.origin);
    return page.origin === self.location.origin ? page.href : self.location.origin + '/';
  } catch {
    return self.location.origin + '/';
  }
}

self.addEventListener('push', (event) => {
  const reply = payloadOf(event);
  const from = typeof reply.from === 'string' && reply.from.trim() ? reply.from.trim() : undefined;
  const title = from
    ? withName(words.get('replyFrom') || 'New reply from {from}', from)
    : words.get('reply') || 'New reply';
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof reply.preview === 'string' ? reply.preview : '',
      // One notification per chat: a newer reply replaces it, and says so again.
      tag: 'genesys-bff-reply',
      renotify: true,
      lang: words.get('lang') || undefined,
      dir: words.get('dir') === 'rtl' ? 'rtl' : 'auto',
      data: { url: pageOf(reply.url) },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = pageOf(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const path = new URL(url).pathname;
      const open = windows.find((w) => w.url === url) || windows.find((w) => new URL(w.url).pathname === path);
      return open ? open.focus() : self.clients.openWindow(url);
    }),
  );
});
