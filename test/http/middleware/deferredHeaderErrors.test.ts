import type { NextFunction, Request, Response } from 'express';
import { deferred, setHeadersWhileWaiting } from '../../../src/http/middleware/deferredHeaders';

/**
 * A deferred header middleware that fails (src/http/middleware/deferredHeaders.ts) fails where it runs: its error is
 * thrown out of setHeadersWhileWaiting (and so out of writeHead), never swallowed into an answer
 * without its headers. deferredHeaders.test.ts shows the headers on every answer.
 */

it('throws the error a deferred middleware passes on, when its turn comes', () => {
  const failure = new Error('no headers for you');
  const middleware = deferred((_req, _res, next) => next(failure));
  const res = {} as Response;
  const next = jest.fn();
  middleware({ method: 'GET' } as Request, res, next as NextFunction);
  expect(next).toHaveBeenCalledWith();
  expect(() => setHeadersWhileWaiting(res)).toThrow(failure);
});

it('runs a middleware that goes on without error once, and nothing after that', () => {
  let runs = 0;
  const middleware = deferred((_req, _res, next) => {
    runs += 1;
    next();
  });
  const res = {} as Response;
  middleware({ method: 'GET' } as Request, res, jest.fn() as NextFunction);
  expect(runs).toBe(0);
  setHeadersWhileWaiting(res);
  setHeadersWhileWaiting(res);
  expect(runs).toBe(1);
});
