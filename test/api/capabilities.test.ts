import { bearer, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

/** GET /capabilities: what the deployment allows a custom UI, read from config.json and the SessionResponse. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false }, autoStart: true, conversationClear: true } });
});
afterAll(() => stack.close());

test("the deployment's settings, the session's media limits and its expiry", async () => {
  const { token } = await stack.newSession();
  const res = await stack.http.get('/capabilities').set(bearer(token));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    attachments: {
      enabled: true,
      mediaTypes: ['image/png', 'image/jpeg', 'image/gif', 'application/pdf'],
      maxBytes: 10240 * 1000,
      blockedExtensions: expect.arrayContaining(['.exe']),
    },
    endChat: true,
    disconnect: { enabled: true, type: 'ReadOnly' },
    typing: { agent: true, guest: true },
    autoStart: true,
    languages: ['en-us'],
    defaultLanguage: 'en-us',
    markdown: true,
    // The deployment's READ_RECEIPTS, off unless set (test/api/receipts.test.ts has it on).
    readReceipts: false,
    // No VAPID pair configured: Web Push is off.
    notifications: { push: null, email: false },
    authentication: { enabled: true, allowSessionUpgrade: true },
    session: { expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    availability: { configured: false },
  });
  expect(Date.parse(res.body.session.expiresAt)).toBeGreaterThan(Date.now());
});

test('a deployment with uploads off and clear off says so', async () => {
  const other = await startStack({
    sim: {
      agent: { enabled: false },
      fileUploadModes: [],
      conversationClear: false,
      showUserTypingIndicator: false,
      authEnabled: false,
      allowSessionUpgrade: true,
    },
  });
  try {
    const { token } = await other.newSession();
    const res = await other.http.get('/capabilities').set(bearer(token));
    expect(res.body).toMatchObject({
      attachments: { enabled: false, mediaTypes: [], maxBytes: 0 },
      endChat: false,
      typing: { guest: false },
      // Upgrades mean nothing without sign-in.
      authentication: { enabled: false, allowSessionUpgrade: false },
    });
  } finally {
    await other.close();
    await other.sim.stop();
  }
});

test('without a session token it is 401', async () => {
  const res = await stack.http.get('/capabilities').set('Origin', PAGE_ORIGIN);
  expect(res.status).toBe(401);
});

test.each([true, false])(
  "with enableAttachments %s in config.json, the session's allowedMedia alone decides (a KB being 1000 bytes), as Genesys's own client reads it",
  async (enableAttachments) => {
    const other = await startStack({ sim: { agent: { enabled: false }, fileUploadModes: [], enableAttachments } });
    try {
      const { token } = await other.newSession();
      const res = await other.http.get('/capabilities').set(bearer(token));
      expect(res.body.attachments).toMatchObject({
        enabled: true,
        mediaTypes: ['*/*', 'video/3gpp'],
        maxBytes: 10240 * 1000,
      });
    } finally {
      await other.close();
    }
  },
);
