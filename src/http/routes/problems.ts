import { ERROR_CODES, AppError, type ErrorCode } from '../../domain/errors';
import { PROBLEM_TYPE_BASE } from '../problem';
import type { AnyRouteSpec } from '../spec';

/** The page each problem's `type` points to: what happened, and what to do. */
export function problemRoutes(): AnyRouteSpec[] {
  return [
    {
      method: 'get',
      path: `${PROBLEM_TYPE_BASE}:code`,
      summary: "A short page about one problem code (every problem's `type` links here)",
      auth: 'public',
      responses: { 200: { description: 'What happened and what to do', contentType: 'text/html' } },
      errors: ['not_found'],
      handle(req, res) {
        const code = String(req.params.code);
        if (!Object.hasOwn(ERROR_CODES, code))
          throw new AppError('not_found', `There is no problem code "${code.slice(0, 60)}".`);
        const { status, title, advice } = ERROR_CODES[code as ErrorCode];
        res.type('text/html; charset=utf-8').send(page(code, status, title, advice));
      },
    },
  ];
}

const escape = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function page(code: string, status: number, title: string, advice: string): string {
  const [c, t] = [escape(code), escape(title)];
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${c}: ${t}</title></head>`,
    `<body><h1><code>${c}</code> (${status})</h1><p>${t}.</p><h2>What to do</h2><p>${escape(advice)}</p>`,
    '<p>Every problem this service answers is <code>application/problem+json</code> with this <code>code</code>; ' +
      'its <code>detail</code> says more about the one you met.</p></body></html>',
    '',
  ].join('\n');
}
