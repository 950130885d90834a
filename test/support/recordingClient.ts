import { BffClient, memoryTokenStore } from '../../client/src';

/** One request a BffClient made, as the service would read it. */
export interface RecordedCall {
  method: string;
  path: string;
  /** The `routingKey` query parameter the client proposes or holds, null without one. */
  routingKey: string | null;
  authorization: string | null;
  body: unknown;
}

export const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json' },
  });

export const problem = (status: number, code: string, title = code) => json(status, { status, code, title });

/** Answers with the next of `answers`, in order; a request past them fails the test. */
export const scripted = (answers: Response[]) => () => {
  const next = answers.shift();
  if (!next) throw new Error('no answer scripted');
  return next;
};

/**
 * A client against no service: its fetch records each request and answers `answer(call)`; waits take no time. The
 * token store holds `held` at the start.
 */
export function recordingClient(answer: (call: RecordedCall) => Response, held?: string) {
  const calls: RecordedCall[] = [];
  const store = memoryTokenStore();
  if (held) store.set(held);
  const client = new BffClient({
    baseUrl: 'http://bff.test',
    tokenStore: store,
    fetch: async (input, init = {}) => {
      const url = new URL(String(input));
      const call = {
        method: init.method ?? 'GET',
        path: url.pathname,
        routingKey: url.searchParams.get('routingKey'),
        authorization: new Headers(init.headers).get('authorization'),
        body: init.body === undefined ? undefined : JSON.parse(String(init.body)),
      };
      calls.push(call);
      return answer(call);
    },
    sleep: async () => undefined,
  });
  return { client, calls, store };
}
