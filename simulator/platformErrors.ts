/**
 * Platform ErrorBody `code`/`message` per status (docs/genesys-protocol.md#errors-and-retries).
 * The 500/503 messages are not in the reference; they are placeholders.
 */
const PLATFORM_ERRORS: Record<number, { code: string; message: string }> = {
  400: { code: 'bad.request', message: 'The request could not be understood by the server due to malformed syntax.' },
  401: { code: 'bad.credentials', message: 'Invalid login credentials.' },
  403: { code: 'not.authorized', message: 'You are not authorized to perform the requested action.' },
  404: { code: 'not.found', message: 'The requested resource was not found.' },
  408: { code: 'client.timeout', message: 'The client did not produce a request within the server timeout limit.' },
  413: { code: 'request.entity.too.large', message: 'The request is over the size limit. Maximum bytes: 512000' },
  429: {
    code: 'too.many.requests.retry.after',
    message: 'Rate limit exceeded the maximum. Retry the request in [3] seconds',
  },
  500: {
    code: 'internal.server.error',
    message: 'The server encountered an unexpected condition which prevented it from fulfilling the request.',
  },
  503: { code: 'service.unavailable', message: 'Service Unavailable - The server is currently unavailable.' },
  504: { code: 'request.timeout', message: 'The request timed out.' },
};

/** docs/genesys-protocol.md#errors-and-retries: ErrorBody with the correlation id as contextId. */
export function errorBody(status: number, contextId: string, override?: { code: string; message: string }) {
  const known = override ?? PLATFORM_ERRORS[status] ?? { code: 'error', message: 'The request failed.' };
  return { message: known.message, code: known.code, status, contextId, details: [], errors: [] };
}

/**
 * The 403 for a permission the OAuth client lacks (in the object's division): `missing.permissions` where the SDK
 * docs say the endpoint "Requires ALL permissions", `missing.any.permissions` where it says ANY. That pairing, and the
 * `messageParams` key, are inferences: the reference gives both codes and their messages, not which endpoint sends
 * which (docs/genesys-protocol.md#errors-and-retries).
 */
export function missingPermissionBody(permission: string, any: boolean, contextId: string) {
  const template = any
    ? 'Unable to perform the requested action. You must have at least one of the following permissions assigned: '
    : 'Unable to perform the requested action. You are missing the following permission(s): ';
  return {
    ...errorBody(403, contextId, {
      code: any ? 'missing.any.permissions' : 'missing.permissions',
      message: `${template}${permission}`,
    }),
    messageWithParams: `${template}{permissions}`,
    messageParams: { permissions: permission },
  };
}

/** The 429 for a spent budget, with the wait in its message as Genesys words it. */
export function rateLimitedBody(retryAfterSeconds: number, contextId: string) {
  return errorBody(429, contextId, {
    code: 'too.many.requests.retry.after',
    message: `Rate limit exceeded the maximum. Retry the request in [${retryAfterSeconds}] seconds`,
  });
}
