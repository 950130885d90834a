/** A minimal Server-Sent Events reader over fetch, for tests and benchmarks. */
import { EVENT_WAIT_MS } from './wait';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  events: SseEvent[];
  comments: number;
  next(predicate: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  ended: Promise<void>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  const waiters: {
    predicate: (e: SseEvent) => boolean;
    resolve: (e: SseEvent) => void;
    reject: (error: Error) => void;
  }[] = [];
  /** Set once the service ended or cut the stream: a wait for a further event fails then, not at its bound. */
  let endedByService = false;
  const unmatched = () => new Error(`the stream ended with no matching event; got ${JSON.stringify(events)}`);
  const endedByTheService = () => {
    endedByService = true;
    for (const w of waiters.splice(0)) w.reject(unmatched());
  };
  const stream: SseStream = {
    status: res.status,
    headers: res.headers,
    events,
    comments: 0,
    next(predicate, timeoutMs = EVENT_WAIT_MS) {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      if (endedByService) return Promise.reject(unmatched());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching event; got ${JSON.stringify(events)}`)),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (e) => (clearTimeout(timer), resolve(e)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
      });
    },
    ended: Promise.resolve(),
    close: () => controller.abort(),
  };
  if (!res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
    stream.ended = res.text().then(() => undefined);
    return stream;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  stream.ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return endedByTheService();
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: SseEvent = { event: 'message', data: '' };
          let isComment = true;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            isComment = false;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'event') event.event = value;
            else if (field === 'data') event.data += value;
            else if (field === 'id') event.id = value;
          }
          if (isComment) {
            stream.comments++;
            continue;
          }
          if (event.data === '' && event.event === 'message') continue; // retry: line only
          events.push(event);
          for (const w of [...waiters]) {
            if (w.predicate(event)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(event);
            }
          }
        }
      }
    } catch {
      // Aborted by close(), or cut by the service's side (its instance killed, a proxy's reset).
      if (!controller.signal.aborted) endedByTheService();
    }
  })();
  return stream;
}

/** An event's data as JSON (an event without data fails to parse). */
export function dataOf(event: { data?: string }): Record<string, unknown> {
  return JSON.parse(event.data ?? '') as Record<string, unknown>;
}

/** One block of a raw event stream: a comment, or the fields it names. */
export interface EventStreamBlock {
  comment?: string;
  retry?: string;
  event?: string;
  data?: string;
  id?: string;
}

/** The blocks of a raw HTTP/1.1 answer that carries an event stream (head, chunked framing and all), in order. */
export function parseEventStream(answer: string): EventStreamBlock[] {
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  return body
    .split('\n\n')
    .map((block) => {
      const fields: EventStreamBlock = {};
      for (const line of block.split('\n')) {
        // The chunked framing (a size line, a blank line) sits between writes.
        if (/^[0-9a-f]+\r$/.test(line) || line === '\r') continue;
        if (line.startsWith(':')) fields.comment = line.slice(1).trim();
        const [name, ...rest] = line.split(': ');
        if (name === 'retry' || name === 'event' || name === 'data' || name === 'id')
          fields[name] = rest.join(': ').replace(/\r$/, '');
      }
      return fields;
    })
    .filter((fields) => Object.keys(fields).length > 0);
}
