import type { Request } from 'express';
import type { z } from 'zod';
import { claimsOf, setHeadersWhileWaiting } from '../middleware';
import { type RouteSpec, transcriptQuery } from '../spec';
import type { ChatRouteDeps } from './deps';
import { shippedLanguages, TRANSCRIPT_CSP, transcriptDocument, transcriptLocaleOf } from './transcriptDocument';

const TYPES = { text: 'text/plain', html: 'text/html' } as const;

/** `?format=` first; else what Accept prefers of the two (a browser's navigation prefers HTML); else text. */
function formatOf(req: Request, asked: 'text' | 'html' | undefined): 'text' | 'html' {
  if (asked) return asked;
  return req.accepts([TYPES.text, TYPES.html]) === TYPES.html ? 'html' : 'text';
}

/** The whole conversation as a file to keep: plain text or a self-contained HTML page. */
export function transcriptRoutes(
  deps: Pick<ChatRouteDeps, 'chat'>,
): RouteSpec<unknown, z.infer<typeof transcriptQuery>>[] {
  return [
    {
      method: 'get',
      path: '/messages/transcript',
      summary: 'The whole conversation as a file: plain text or a self-contained HTML page',
      description:
        'Every message the session may read, oldest first, from every history page. `?format=` chooses text or ' +
        'html; without it the Accept header does (text/html, else text/plain). `?lang=` (else Accept-Language) ' +
        "and `?timeZone=` write it for the reader: the browser kit's words in that language, every moment in that " +
        "zone; the kit's own fallback for the same messages is the same file. The HTML page has no script and " +
        'loads nothing, with a Content-Security-Policy of its own. Also served once the conversation has ended ' +
        '(read-only), never after the guest ended the session (410). Its reads of Genesys history come out of the ' +
        "half of the session's reads that delivery proofs do not need: when they do not fit, 429 with " +
        'Retry-After, nothing read. A conversation longer than that half holds (500 messages) is given newest ' +
        'first as far as it goes, saying so at its top.',
      auth: 'session',
      query: transcriptQuery,
      responses: {
        200: {
          description: 'The transcript, as an attachment',
          contentType: ['text/plain', 'text/html'],
          headers: {
            'Content-Disposition': 'attachment; filename="chat-transcript-YYYY-MM-DD.txt" (or .html)',
          },
        },
      },
      // A format it does not make; history reads, counted where every reader's are seen.
      errors: ['validation_failed', 'rate_limited', 'upstream_unavailable'],
      async handle(req, res, { query }) {
        const format = formatOf(req, query.format);
        // `?lang=` first, else the first of the kit's languages Accept-Language takes (none: English).
        const accepted = req.headers['accept-language'] ? req.acceptsLanguages(shippedLanguages) : false;
        const locale = transcriptLocaleOf(query.lang ?? (accepted || undefined), query.timeZone);
        const whole = await deps.chat.transcript(claimsOf(res));
        const readAt = new Date();
        const input = { messages: whole.messages, complete: whole.complete, readAt };
        const name = `chat-transcript-${readAt.toISOString().slice(0, 10)}.${format === 'html' ? 'html' : 'txt'}`;
        // The shared security and CORS headers first (they wait until the answer is written), then this answer's own.
        setHeadersWhileWaiting(res);
        res.vary('Accept');
        res.vary('Accept-Language');
        res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
        // frame-ancestors holds only in a header, not in the page's own copy of the policy.
        if (format === 'html') res.setHeader('Content-Security-Policy', `${TRANSCRIPT_CSP}; frame-ancestors 'none'`);
        res.type(`${TYPES[format]}; charset=utf-8`).send(transcriptDocument(format, input, locale));
      },
    },
  ];
}
