/**
 * Every answer a test got from the service, checked against what
 * /openapi.json lists for its operation: the status, and for a problem its
 * `code`. Read from the service's own log (the access line gives method,
 * path and status; the error handler's line gives the code, joined by
 * requestId), so any test that drives the service checks the document too.
 * startStack registers a check; test/setup/documentedAnswers.ts runs the
 * checks when the file's tests are done and fails the file on an answer
 * outside the document.
 */

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
}

interface Operation {
  method: string;
  path: string;
  pattern: RegExp;
  /** Per status, the problem codes listed (empty for a status that is not a problem). */
  statuses: Map<string, string[]>;
}

type LogLine = Record<string, unknown>;

export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method,
      path,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      statuses: new Map(
        Object.entries(op.responses).map(([status, r]) => [
          status,
          /^Problem: (.*)$/.exec(r.description)?.[1]?.split(', ') ?? [],
        ]),
      ),
    })),
  );
}

/** What /openapi.json does not list, one line per answer; requests to no documented operation (404s, test routes) are not judged. */
export function undocumentedAnswers(doc: OpenApiDocument, lines: LogLine[]): string[] {
  const operations = operationsOf(doc);
  // A caller may send its own X-Request-Id, so an id can name several requests: their codes are not judged.
  const codesOf = new Map<string, string[]>();
  for (const line of lines) {
    if (typeof line.code === 'string' && typeof line.status === 'number' && typeof line.requestId === 'string') {
      codesOf.set(line.requestId, [...(codesOf.get(line.requestId) ?? []), line.code]);
    }
  }
  const answersOf = new Map<string, number>();
  for (const line of lines)
    if (line.res !== undefined && typeof line.requestId === 'string')
      answersOf.set(line.requestId, (answersOf.get(line.requestId) ?? 0) + 1);
  const codeOf = (requestId: unknown) =>
    typeof requestId === 'string' && answersOf.get(requestId) === 1 && codesOf.get(requestId)?.length === 1
      ? codesOf.get(requestId)![0]
      : undefined;
  const outside = new Set<string>();
  for (const line of lines) {
    const req = line.req as { method?: string; url?: string } | undefined;
    const status = (line.res as { statusCode?: number } | undefined)?.statusCode;
    if (!req?.method || !req.url || status === undefined || line.msg === 'request aborted') continue;
    const method = req.method.toLowerCase() === 'head' ? 'get' : req.method.toLowerCase();
    const path = req.url.split('?')[0]!;
    const op = operations.find((o) => o.method === method && o.pattern.test(path));
    if (!op) continue;
    const codes = op.statuses.get(String(status));
    if (codes === undefined) {
      outside.add(`${method.toUpperCase()} ${op.path} answered ${status}, which /openapi.json does not list`);
      continue;
    }
    const code = codeOf(line.requestId);
    if (status >= 400 && code !== undefined && !codes.includes(code)) {
      outside.add(
        `${method.toUpperCase()} ${op.path} answered ${status} ${code}, which /openapi.json does not list for ${status}`,
      );
    }
  }
  return [...outside];
}

type Check = () => string[];
const registry = globalThis as typeof globalThis & { documentedAnswerChecks?: Check[] };

/** Runs `check` once this test file is done (test/setup/documentedAnswers.ts). */
export function checkWhenDone(check: Check): void {
  (registry.documentedAnswerChecks ??= []).push(check);
}

/** The checks registered so far in this test file, removed from the list. */
export function takeChecks(): Check[] {
  const checks = registry.documentedAnswerChecks ?? [];
  registry.documentedAnswerChecks = [];
  return checks;
}
