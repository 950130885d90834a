import { AppError } from '../../../../src/domain/errors';
import {
  attachmentRefusal,
  GuestApiError,
  guestErrorFromFrame,
  MAX_RETRY_AFTER_SECONDS,
} from '../../../../src/genesys/guest/protocol/errors';

/**
 * What a Guest API failure becomes for the browser (public code, status,
 * Retry-After, detail) and for the session (fatal or not, how a live stream
 * hears it): docs/genesys-protocol.md#error-codes and CONTRACT.md's codes.
 */

const frame = (code: number) => ({ type: 'response', class: 'string', code, body: 'whatever Genesys said' });

describe('guestErrorFromFrame', () => {
  it.each([
    // Genesys code, failure, public code, HTTP status, fatal for the session, end state, what the detail tells the browser
    [4006, 'session_expired', 'session_expired', 410, true, 'expired', /expired; start a new one/],
    [4007, 'session_expired', 'session_expired', 410, true, 'expired', /no longer exists at Genesys; start a new one/],
    [
      4011,
      'message_too_long',
      'message_too_long',
      413,
      false,
      'unavailable',
      /longer than Genesys accepts \(4096 bytes\)/,
    ],
    [4013, 'attributes_too_large', 'attributes_too_large', 413, false, 'unavailable', /custom attributes are larger/],
    [
      4008,
      'attachment_refused',
      'validation_failed',
      400,
      false,
      'unavailable',
      /expired or was not fully uploaded; upload it again/,
    ],
    [
      4010,
      'attachment_refused',
      'validation_failed',
      400,
      false,
      'unavailable',
      /expired or was not fully uploaded; upload it again/,
    ],
    [4009, 'attachment_refused', 'not_found', 404, false, 'unavailable', /No such attachment in this session/],
    [401, 'unauthorized', 'reauthentication_required', 401, false, 'unavailable', /refused the sign-in; sign in again/],
    [
      4017,
      'cannot_downgrade',
      'cannot_downgrade',
      409,
      false,
      'unavailable',
      /signed in; it cannot continue anonymously/,
    ],
    [403, 'forbidden', 'upstream_unavailable', 502, false, 'unavailable', /refused the request for this deployment/],
    [4020, 'bad_request', 'upstream_unavailable', 502, false, 'unavailable', /^Genesys refused the request\.$/],
    [400, 'bad_request', 'upstream_unavailable', 502, false, 'unavailable', /^Genesys refused the request\.$/],
  ] as const)('maps %i to %s (%s, HTTP %i)', (code, failure, publicCode, status, fatal, endState, detail) => {
    const error = guestErrorFromFrame(frame(code), 'whatever Genesys said');

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      name: 'GuestApiError',
      failure,
      code: publicCode,
      status,
      fatalForSession: fatal,
      endState,
      retryAfterSeconds: undefined,
    });
    expect(error.message).toMatch(detail);
    // Genesys's own code and text are for the operator's log only.
    expect(error.logDetail).toEqual({ guestFailure: failure, genesysCode: code, genesysText: 'whatever Genesys said' });
    expect(error.message).not.toContain('whatever Genesys said');
  });

  it.each([
    'Session authentication failed for this deployment',
    'session AUTHENTICATION failed',
    'Try authenticate again',
    'Try to authenticate again later',
  ])(
    'reads a 403 saying %j as a sign-in to renew, which ends the session for its streams with its own reason',
    (text) => {
      const error = guestErrorFromFrame(frame(403), text);

      expect(error).toMatchObject({
        failure: 'reauthentication_required',
        code: 'reauthentication_required',
        status: 401,
        fatalForSession: true,
        endState: 'reauthentication_required',
      });
      expect(error.message).toMatch(/asks the customer to sign in again/);
    },
  );

  it.each(['Turn on the Feature Toggle', 'The session authentication failed', 'Please try to authenticate again', ''])(
    'reads a 403 saying %j as a plain refusal: the sign-in texts count only at the start',
    (text) => {
      expect(guestErrorFromFrame(frame(403), text)).toMatchObject({
        failure: 'forbidden',
        status: 502,
        fatalForSession: false,
      });
    },
  );

  it.each([429, 4029])('turns %i into rate_limited with the wait Genesys asked for', (code) => {
    expect(guestErrorFromFrame(frame(code), 'Message rate too high', 3)).toMatchObject({
      failure: 'rate_limited',
      code: 'rate_limited',
      status: 429,
      retryAfterSeconds: 3,
      fatalForSession: false,
      endState: 'unavailable',
    });
    expect(guestErrorFromFrame(frame(code), 'Message rate too high', 3).message).toMatch(
      /slow down; retry after the given time/,
    );
  });

  it.each([
    [undefined, 1],
    [Number.NaN, 1],
    [0, 0],
    [-4, 0],
    [2.5, 2.5],
    [MAX_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS],
    [MAX_RETRY_AFTER_SECONDS + 1, MAX_RETRY_AFTER_SECONDS],
    [1e12, MAX_RETRY_AFTER_SECONDS],
  ])('a 429 whose retryAfter is %p asks the browser to wait %p s', (retryAfter, seconds) => {
    expect(guestErrorFromFrame(frame(429), 'slow down', retryAfter).retryAfterSeconds).toBe(seconds);
  });
});

describe('file refusals 4000-4005', () => {
  const refusals = [
    // Genesys code, public code, HTTP status, what the detail tells the browser
    [4000, 'attachments_disabled', 422, /^File upload is off for this deployment\.$/],
    [4001, 'attachment_type_not_allowed', 415, /^Genesys does not accept this file\.$/],
    [4002, 'attachment_too_large', 413, /^The file is larger than Genesys accepts\.$/],
    [4003, 'attachment_type_not_allowed', 415, /^Genesys does not accept this file\.$/],
    [4004, 'attachment_type_not_allowed', 415, /^Genesys does not accept this file\.$/],
    [4005, 'attachment_type_not_allowed', 415, /^Genesys does not accept this file\.$/],
  ] as const;

  // Inside GenerateUrlError / UploadFailureEvent (attachmentRefusal) or as a class "string" frame: the same answer.
  it.each(refusals)('%i is %s (HTTP %i), in a file event or as an error frame', (code, publicCode, status, detail) => {
    for (const error of [
      attachmentRefusal(code, 'whatever Genesys said'),
      guestErrorFromFrame(frame(code), 'whatever Genesys said'),
    ]) {
      expect(error).toMatchObject({ failure: 'attachment_refused', code: publicCode, status, fatalForSession: false });
      expect(error.message).toMatch(detail);
      expect(error.logDetail).toEqual({
        guestFailure: 'attachment_refused',
        genesysCode: code,
        genesysText: 'whatever Genesys said',
      });
    }
  });

  it('another code in a file event (4102, an empty file) is a plain refusal of the file, its code and text for the log', () => {
    const error = attachmentRefusal(4102, 'File is empty');
    expect(error).toMatchObject({ failure: 'bad_request', code: 'upstream_unavailable', status: 502 });
    expect(error.message).toBe('Genesys refused the file.');
    expect(error.logDetail).toEqual({ guestFailure: 'bad_request', genesysCode: 4102, genesysText: 'File is empty' });
  });
});

describe('GuestApiError raised by the service itself', () => {
  it.each([
    // failure, public code, HTTP status, fatal, end state
    ['timeout', 'upstream_unavailable', 504, false, 'unavailable'],
    ['handshake_refused', 'upstream_unavailable', 502, false, 'unavailable'],
    ['unavailable', 'upstream_unavailable', 503, false, 'unavailable'],
    ['connection_lost', 'upstream_unavailable', 503, false, 'unavailable'],
    ['read_only', 'conflict', 409, false, 'unavailable'],
    ['session_not_found', 'session_expired', 410, true, 'expired'],
    ['signed_out', 'session_expired', 410, true, 'signed_out'],
    ['signed_in_elsewhere', 'session_expired', 410, true, 'signed_in_elsewhere'],
    ['reauthentication_required', 'reauthentication_required', 401, true, 'reauthentication_required'],
  ] as const)('%s is %s (HTTP %i)', (failure, publicCode, status, fatal, endState) => {
    const cause = new Error('socket said no');
    const error = new GuestApiError(failure, 'what the browser reads', { cause });

    expect(error).toMatchObject({
      name: 'GuestApiError',
      failure,
      code: publicCode,
      status,
      fatalForSession: fatal,
      endState,
      message: 'what the browser reads',
    });
    expect(error.cause).toBe(cause);
    expect(error.logDetail).toMatchObject({ guestFailure: failure });
  });

  it("takes the public code a refusal names over the failure's own", () => {
    expect(new GuestApiError('attachment_refused', 'too big', { refusal: 'attachment_too_large' })).toMatchObject({
      code: 'attachment_too_large',
      status: 413,
    });
    expect(new GuestApiError('attachment_refused', 'wrong type')).toMatchObject({
      code: 'attachment_type_not_allowed',
      status: 415,
    });
  });

  it.each([
    [undefined, undefined],
    [Number.NaN, undefined],
    [-1, 0],
    [12, 12],
    [1e12, MAX_RETRY_AFTER_SECONDS],
  ])('keeps a retryAfterSeconds of %p within 0…MAX_RETRY_AFTER_SECONDS as %p', (given, kept) => {
    expect(new GuestApiError('rate_limited', 'slow down', { retryAfterSeconds: given }).retryAfterSeconds).toBe(kept);
  });
});
