import type http from 'node:http';
import { z } from 'zod';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../observability/logger';
import type { DeadLetters } from '../../webhooks';
import { toProblem } from '../problem';

/** What the operator's dead-letter routes need: each deployment's dead letters, by name. */
export interface DeadLetterSource {
  names(): string[];
  deadLetters(deployment: string): DeadLetters | undefined;
}

/** The largest replay body read: some thousands of ids. */
const MAX_BODY_BYTES = 256 * 1024;

const replayBody = z.strictObject({ ids: z.array(z.string().min(1).max(200)).max(10_000).optional() });

/**
 * The webhook dead-letter list for the operator, on the metrics listener only (never on PORT):
 * `GET /webhooks/dead-letter?deployment=` lists it, `POST /webhooks/dead-letter/replay?deployment=` with
 * `{ "ids"?: [...] }` queues the named ones (all, without ids) again and enables their endpoints again.
 * Answers JSON; a problem+json for a bad request, and 503 with Retry-After when the shared store cannot answer.
 * Returns false for any other path.
 */
export function answerDeadLetters(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  source: DeadLetterSource,
  logger: Logger,
): boolean {
  const url = new URL(req.url ?? '/', 'http://metrics');
  const list = url.pathname === '/webhooks/dead-letter';
  const replay = url.pathname === '/webhooks/dead-letter/replay';
  if (!list && !replay) return false;
  void (async () => {
    if (list && req.method !== 'GET') throw new AppError('method_not_allowed', 'Use GET to list the dead letters.');
    if (replay && req.method !== 'POST')
      throw new AppError('method_not_allowed', 'Use POST to replay the dead letters.');
    const deadLetters = chosen(url, source);
    if (list) {
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new AppError('validation_failed', '`limit` must be a whole number from 1 to 1000.');
      return { deadLetters: await deadLetters.list(limit) };
    }
    const body = replayBody.safeParse(await readJson(req, logger));
    if (!body.success)
      throw new AppError('validation_failed', 'The body must be `{}` or `{ "ids": ["<dead letter id>", ...] }`.');
    return deadLetters.replay(body.data.ids);
  })().then(
    (answer) => send(res, 200, 'application/json', answer),
    (error: unknown) => {
      const problem =
        error instanceof AppError
          ? error
          : new AppError('store_unavailable', 'The shared store did not answer; retry shortly.', { cause: error });
      if (!(error instanceof AppError) || problem.status >= 500)
        logger.warn({ code: problem.code, err: error }, 'webhook dead-letter request failed');
      if (problem.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(problem.retryAfterSeconds));
      send(res, problem.status, 'application/problem+json', toProblem(problem));
    },
  );
  return true;
}

function chosen(url: URL, source: DeadLetterSource): DeadLetters {
  const names = source.names();
  const name = url.searchParams.get('deployment') ?? (names.length === 1 ? names[0] : undefined);
  const found = name === undefined ? undefined : source.deadLetters(name);
  if (!found)
    throw new AppError(
      'validation_failed',
      `Name a deployment with ?deployment= (one of: ${names.join(', ')}).`.slice(0, 500),
    );
  return found;
}

function readJson(req: http.IncomingMessage, logger: Logger): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Read no further: the refusal is answered, and the connection closed after it (send()).
        req.pause();
        req.removeAllListeners('data');
        reject(new AppError('payload_too_large', `The body may be at most ${MAX_BODY_BYTES} bytes.`));
      } else chunks.push(chunk);
    });
    // The operator's client went away mid-body: nothing is replayed, and there is nobody left to answer. (A body
    // refused as too large, cut off after, was told so: that is the whole story.)
    req.on('error', (error) => {
      if (size > MAX_BODY_BYTES) return;
      logger.info({ err: error }, 'a dead-letter replay broke off before its body ended; nothing was replayed');
      reject(new AppError('validation_failed', 'The body broke off before its end.', { cause: error }));
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new AppError('validation_failed', 'The body is not JSON.'));
      }
    });
  });
}

function send(res: http.ServerResponse, status: number, type: string, body: unknown): void {
  res.writeHead(status, {
    'Content-Type': `${type}; charset=utf-8`,
    'Cache-Control': 'no-store',
    // A body left unread (too large) ends the connection: nothing more of it is read.
    ...(status === 413 ? { Connection: 'close' } : {}),
  });
  res.end(`${JSON.stringify(body)}\n`);
}
