/**
 * Every answer a test got from the service, checked against what
 * /openapi.json lists for its operation: the status, and for a problem its
 * `code`. Read from the service's own log (the access line gives method,
 * path and status; the error handler's line gives the code, joined by
 * requestId), so any test that drives the service checks the document too.
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
      statuses: new Map(Object.entries(op.responses).map(([status, r]) => [status, /^Problem: (.*)$/.exec(r.description)?.[1]?.split(', ') ?? []])),
    })),
  );
}

/** What /openapi.json does not list, one line per answer; requests to no documented operation (404s, test routes) are not judged. */
export function undocumentedAnswers(doc: OpenApiDocument, lines: LogLine[]): string[] {
  const operations = operationsOf(doc);
  const codeOf = new Map<string, string>();
  for (const line of lines) {
    if (typeof line.code === 'string' && typeof line.status === 'number' && typeof line.requestId === 'string') codeOf.set(line.requestId, line.code);
  }
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
    const code = typeof line.requestId === 'string' ? codeOf.get(line.requestId) : undefined;
    if (status >= 400 && code !== undefined && !codes.includes(code)) {
      outside.add(`${method.toUpperCase()} ${op.path} answered ${status} ${code}, which /openapi.json does not list for ${status}`);
    }
  }
  return [...outside];
}
