import { inboundTarget as target } from '../../../support/inboundTarget';

/**
 * What an operator reads when Genesys sends what no request waits for: a frame of a class this
 * service does not know, a rate refusal (with or without the tracingId the strict profile may leave
 * out), a sign-out. Each leaves one line with the fields a search needs; none passes in silence.
 */
const INFO = 30;
const WARN = 40;

test('a frame of a class this service does not know is ignored with a warning that names its class', () => {
  const h = target();
  h.feed({ type: 'response', class: 'SomethingNewFromGenesys', code: 200, body: {} });
  expect(h.lines).toEqual([
    expect.objectContaining({
      level: WARN,
      msg: 'ignored an unknown Guest API frame',
      class: 'SomethingNewFromGenesys',
      reason: 'unknown class SomethingNewFromGenesys',
    }),
  ]);
  expect(h.died).toEqual([]);
});

test.each([
  ['without a tracingId', undefined, false],
  ['with a tracingId', 'T-1', true],
])(
  'a rate refusal %s is logged once, saying whether it named its request and how long to wait',
  (_, tracingId, traced) => {
    const h = target();
    h.feed({
      type: 'response',
      class: 'TooManyRequestsErrorMessage',
      code: 429,
      body: { retryAfter: 3, errorCode: 4029, errorMessage: 'Message rate too high for this session' },
      ...(tracingId ? { tracingId } : {}),
    });
    expect(h.lines).toEqual([
      expect.objectContaining({
        level: INFO,
        msg: 'Genesys refused a frame for its rate; it goes out again after the wait',
        genesysCode: 429,
        guestFailure: 'rate_limited',
        traced,
        retryAfterSeconds: 3,
      }),
    ]);
    expect(h.refused.map(([id]) => id)).toEqual([tracingId]);
  },
);

test('a sign-out from Genesys ends the session with signed_out and says so', () => {
  const h = target();
  h.feed({ type: 'message', class: 'LogoutEvent', code: 200, body: {} });
  expect(h.died).toHaveLength(1);
  expect(h.died[0]).toMatchObject({ failure: 'signed_out', message: 'The customer signed out.' });
});
