import http from 'node:http';
import type { Express } from 'express';

/**
 * An HTTP server whose requests and responses are born with the Express
 * app's own prototypes (`app.request`, `app.response`).
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
 * The app is not attached: add it as a `'request'` listener, after any
 * listener that must see each request first (src/server.ts).
 */
export function createHttpServer(app: Express, options: http.ServerOptions = {}): http.Server {
  return http.createServer({
    ...options,
    IncomingMessage: bornWith(http.IncomingMessage, app.request),
    ServerResponse: bornWith(http.ServerResponse, app.response),
  });
}

/**
 * A constructor that builds what `base` builds, with `prototype` (which must
 * inherit from `base.prototype`) as the new object's prototype. Node's
 * IncomingMessage and ServerResponse are plain constructor functions, so this
 * is an ordinary `new` with a plain prototype object: V8 keeps such objects
 * on fast, shared maps. Should a Node release turn them into classes, this
 * hands back `base` unchanged and Express re-parents each object itself
 * (slower, still correct).
 */
export function bornWith<T extends abstract new (...args: never[]) => object>(base: T, prototype: object): T {
  if (!Object.prototype.isPrototypeOf.call(base.prototype, prototype)) {
    throw new TypeError(`The prototype must inherit from ${base.name}.prototype.`);
  }
  if (/^class\b/.test(Function.prototype.toString.call(base))) return base;
  const construct = base as unknown as (this: object, ...args: unknown[]) => void;
  function Born(this: object, ...args: unknown[]): void {
    construct.apply(this, args);
  }
  Born.prototype = prototype;
  return Born as unknown as T;
}
