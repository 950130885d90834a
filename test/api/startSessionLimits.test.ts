import { PAGE_ORIGIN, startStack } from '../support/stack';

/**
 * POST /guest-session as routes/session.ts declares it: new sessions are counted per address before anything starts.
 */

test('a new session past SESSIONS_PER_IP_PER_MINUTE is refused with 429 and Retry-After', async () => {
  const stack = await startStack({ env: { SESSIONS_PER_IP_PER_MINUTE: '1' } });
  try {
    await stack.newSession();
    const refused = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
    expect([refused.status, refused.body.code]).toEqual([429, 'rate_limited']);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  } finally {
    await stack.close();
  }
});
