import http from 'node:http';
import type { Express } from 'express';

/**
 * An HTTP server whose requests and responses are born with the prototypes
 * Express gives them (`app.request`, `app.response`).
 *
 * Express gives every request and response those prototypes with
 * `Object.setPrototypeOf` as it starts handling them. In V8 that re-parenting
 * costs more than the rest of a small Express route (a map transition per
 * object, and every later property access on `req`/`res` turns megamorphic),
 * and it keeps each request's objects alive through young-generation
 * collections, which makes every scavenge pause longer (bench/README.md has
 * the measurements). When the objects already have the right prototype,
 * Express's `setPrototypeOf` changes nothing and V8 skips it.
 *
 * Each is a subclass of Node's own (`class extends IncomingMessage`), so V8
 * lays its instances out as it lays out Node's: every field the constructor
 * sets in the object itself. (A plain function calling Node's constructor
 * gave V8 no idea of those fields: each request and response went to
 * dictionary mode, a kilobyte more apiece, about 2 KB per open stream.)
 * The subclass's prototype inherits from the app's, and becomes the app's:
 * `app.request` and `app.response` are replaced by it.
 *
 * The app is not attached: add it as a `'request'` listener, after any
 * listener that must see each request first (src/server.ts).
 */
export function createHttpServer(app: Express, options: http.ServerOptions = {}): http.Server {
  return http.createServer({
    ...options,
    IncomingMessage: bornWith(http.IncomingMessage, app, 'request'),
    ServerResponse: bornWith(http.ServerResponse, app, 'response'),
  });
}

// TypeScript extends a constructor only as `new (...args: any[])`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Extendable = new (...args: any[]) => object;

/**
 * A subclass of `base` whose prototype inherits from `app[key]` (which must
 * inherit from `base.prototype`) and is then set as `app[key]`, so what it
 * builds already has the prototype Express will give it.
 */
export function bornWith<T extends new (...args: never[]) => object>(
  base: T,
  app: Record<'request' | 'response', object>,
  key: 'request' | 'response',
): T {
  const prototype = app[key];
  if (!Object.prototype.isPrototypeOf.call(base.prototype, prototype)) {
    throw new TypeError(`The prototype must inherit from ${base.name}.prototype.`);
  }
  const Born = class extends (base as unknown as Extendable) {};
  Object.setPrototypeOf(Born.prototype, prototype);
  app[key] = Born.prototype;
  return Born as unknown as T;
}
