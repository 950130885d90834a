import { AppError, ERROR_CODES, type ErrorCode } from '../domain/errors';

/** The RFC 9457 rendering of an AppError (README "Errors"). */
interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

/**
 * Each problem's `type` is a page this service serves about its code
 * (routes/problems.ts), as a relative reference: it resolves against the
 * URL the client called, wherever the service is deployed.
 */
export const PROBLEM_TYPE_BASE = '/problems/';

export function toProblem(error: AppError, requestId?: string): ProblemDocument {
  return {
    ...error.extensions,
    type: `${PROBLEM_TYPE_BASE}${error.code}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(requestId ? { requestId } : {}),
  };
}
