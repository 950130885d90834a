import type { RequestHandler } from 'express';

/**
 * Stands in for authentication in front of the per-session limits (src/http/middleware/rateLimits.ts): a Bearer
 * value becomes the session's guest token, which those limits count by.
 */
export const standInAuthentication: RequestHandler = (req, res, next) => {
  const bearer = req.headers.authorization?.replace(/^Bearer /, '');
  if (bearer !== undefined) res.locals.guest = { guestToken: bearer };
  next();
};
