import { AUTH_VALUE, EMAIL_SHAPED, JWT_SHAPED } from '../observability/scrub';
import type { VerifyReport } from './verifyRun';

/** A fixture file's content: every secret and guest id replaced, JWT- and email-shaped strings too. */
function scrubForFixture(value: unknown, secrets: readonly string[]): unknown {
  let text = JSON.stringify(value);
  for (const secret of secrets) if (secret) text = text.split(secret).join('[redacted]');
  // Not scrubText: fixtures keep their UUIDs and ids, which the log scrub replaces.
  text = text.replace(JWT_SHAPED, '[jwt]').replace(EMAIL_SHAPED, '[email]').replace(AUTH_VALUE, '$1 [redacted]');
  return JSON.parse(text);
}

/** nock-style definitions for the REST answers, and the frame transcript, scrubbed. */
export function fixturesOf(report: VerifyReport): { rest: unknown[]; frames: unknown[] } {
  const rest = report.exchanges
    .filter((e) => e.kind === 'rest')
    .map((e) => {
      const d = e.data as { method: string; url: string; status: number; response: unknown };
      const url = new URL(d.url);
      return {
        scope: url.origin,
        method: d.method,
        path: `${url.pathname}${url.search}`,
        status: d.status,
        response: d.response,
      };
    });
  const frames = report.exchanges
    .filter((e) => e.kind !== 'rest')
    .map((e) => ({ direction: e.kind === 'frame-out' ? 'out' : 'in', frame: e.data }));
  return {
    rest: scrubForFixture(rest, report.secrets) as unknown[],
    frames: scrubForFixture(frames, report.secrets) as unknown[],
  };
}
