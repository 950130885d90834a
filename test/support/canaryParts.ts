import type { CanaryParts } from '../../src/deployments/canary';
import type { NormalizedMessage } from '../../src/domain/message';

/**
 * What a canary run uses of its deployment (src/deployments/canary/canaryRun.ts), scripted: a chat that starts, sends,
 * reads history and ends at once, and a session that hears `replies` (to every listener and on the run's own stream)
 * just after the message is sent. Each call is recorded.
 */

const GUEST_MESSAGE: Partial<NormalizedMessage> = { id: 'guest-1', direction: 'inbound', type: 'text', text: 'hello' };

type Listener = (event: { type: string; message?: Partial<NormalizedMessage> }) => void;
export const CANARY_ANSWER: Partial<NormalizedMessage> = {
  id: 'answer-1',
  direction: 'outbound',
  type: 'text',
  text: 'You said: hello',
};

export function scriptedCanaryParts(options: {
  replies?: Array<Partial<NormalizedMessage>>;
  expect?: string;
  /** The run's clock: each reading this many ms after the last, from 0; unset, the wall clock. */
  tickMs?: number;
  inHistory?: number;
  /** A message the session had before the run listened (a greeting), heard by each listener as it subscribes. */
  before?: Partial<NormalizedMessage>;
}) {
  const { replies = [CANARY_ANSWER], inHistory = 1, before, tickMs } = options;
  let clock = 0;
  const listeners = new Set<Listener>();
  const unsubscribed = jest.fn();
  const session = {
    subscribe: (listener: Listener) => {
      listeners.add(listener);
      if (before) listener({ type: 'message', message: before });
      return () => void (listeners.delete(listener) && unsubscribed());
    },
  };
  let stream: { write(chunk: string): boolean } | undefined;
  let historyReads = 0;
  const chat = {
    start: jest.fn(async () => ({ sessionToken: 'session-token-1' })),
    send: jest.fn(async (_claims: unknown, _body: { text: string }, _key: string) => {
      // The replies come just after the send, to every listener and on the run's own stream.
      setImmediate(() => {
        for (const message of replies) {
          for (const listener of [...listeners]) listener({ type: 'message', message });
          stream?.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
        }
      });
      return { sessionToken: 'session-token-2' };
    }),
    // History holds the guest's own message at once, and the replies from the `inHistory`th read on.
    history: jest.fn(async () => ({ messages: [GUEST_MESSAGE, ...(++historyReads >= inHistory ? replies : [])] })),
    end: jest.fn(async () => undefined),
  };
  const serve = jest.fn((response: { write(chunk: string): boolean }) => void (stream = response));
  const parts = {
    chat,
    tokens: { open: jest.fn(async (token: string) => ({ guestToken: `guest-of-${token}` })) },
    hub: { session: () => session },
    streams: { serve },
    canary: { attribute: { name: 'bffCanary', value: 'yes' }, expect: options.expect },
    answerWaitMs: 2_000,
    objectiveMs: 10_000,
    now: tickMs === undefined ? Date.now : () => (clock += tickMs),
  } as unknown as CanaryParts;
  return { parts, chat, serve, unsubscribed, historyReads: () => historyReads };
}
