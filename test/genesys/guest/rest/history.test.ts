import axios from 'axios';
import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import type { GuestSession } from '../../../../src/genesys/guest/guestSession';
import { GuestHistory } from '../../../../src/genesys/guest/rest/history';
import { useFixture } from '../../../support/nockBack';

/** REST history against nock-recorded Genesys answers (test/fixtures/genesys/history-*.json). */
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmaXh0dXJlIn0.c2lnbmF0dXJl';
/**
 * A guest session as GuestHistory sees it: a cached JWT that stays the same
 * until forgotten, then a new one. Which JWT each request carried is read
 * from the wire, not from this double.
 */
let issued = 0;
let cached: string | undefined;
const session = {
  getJwt: async () => ({
    jwt: (cached ??= issued++ === 0 ? JWT : `${JWT}-${issued}`),
    exp: Math.floor(Date.now() / 1000) + 3600,
  }),
  forgetJwt: () => (cached = undefined),
} as unknown as GuestSession;
beforeEach(() => {
  issued = 0;
  cached = undefined;
});
const history = new GuestHistory(axios.create(), 'https://api.mypurecloud.ie', 'https://shop.example.com');

test('GET /api/v2/webmessaging/messages with the guest JWT; newest-first pages come back oldest first, normalised', async () => {
  const fixture = await useFixture('history-page.json');
  try {
    const page = await history.page(session, 1, 25);
    expect(page.messages.map((m) => [m.direction, m.type, m.text])).toEqual([
      ['outbound', 'structured', 'What would you like to do?'],
      ['inbound', 'text', 'Where is my order?'],
      ['outbound', 'text', 'Your order ships today.'],
    ]);
    expect(page.messages[0]!.quickReplies).toEqual([
      { text: 'Track order', payload: 'track' },
      { text: 'Talk to us', payload: 'agent' },
    ]);
    expect(page.messages[1]!.clientMessageId).toBe('4c6b0a7e-1f2d-4e3a-9b8c-7d6e5f4a3b2c');
    expect(page.messages[2]).toMatchObject({ originatingEntity: 'human', from: { name: 'Sam' } });
    expect(page).toMatchObject({ page: 1, pageSize: 25, total: 3 });
    const [request] = fixture.requests({ path: '/api/v2/webmessaging/messages' });
    expect(request!.headers.authorization).toBe(`bearer ${JWT}`);
  } finally {
    fixture.done();
  }
});

test('an empty conversation is an empty page', async () => {
  const fixture = await useFixture('history-empty.json');
  try {
    await expect(history.page(session, 1, 25)).resolves.toMatchObject({ messages: [], total: 0 });
  } finally {
    fixture.done();
  }
});

test('a rejected JWT is upstream_unavailable, with the Genesys detail kept for the log', async () => {
  const fixture = await useFixture('history-unauthorized.json');
  try {
    const error = (await history.page(session, 1, 25).catch((e: unknown) => e)) as GuestApiError;
    expect(error).toBeInstanceOf(GuestApiError);
    expect(error.code).toBe('upstream_unavailable');
    expect(error.logDetail?.genesysCode).toBe(401);
    expect(String(error.logDetail?.genesysText)).toContain('bad.credentials');
    expect(error.message).not.toContain('bad.credentials');
    expect(fixture.requests({ path: '/api/v2/webmessaging/messages' })).toHaveLength(2);
  } finally {
    fixture.done();
  }
});

test('a 401 gets one fresh JWT and one retry, not more', async () => {
  const fixture = await useFixture('history-401-then-200.json');
  try {
    await expect(history.page(session, 1, 25)).resolves.toMatchObject({ total: 3 });
    // The retry carried a JWT other than the refused one: the cached JWT was dropped, not re-sent.
    const sent = fixture.requests({ path: '/api/v2/webmessaging/messages' }).map((r) => r.headers.authorization);
    expect(sent).toEqual([`bearer ${JWT}`, `bearer ${JWT}-2`]);
  } finally {
    fixture.done();
  }
});

test('a Genesys 429 is rate_limited with its Retry-After', async () => {
  const fixture = await useFixture('history-rate-limited.json');
  try {
    await expect(history.page(session, 1, 25)).rejects.toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfterSeconds: 12,
    });
  } finally {
    fixture.done();
  }
});
