import type { SessionResponse } from '../../src/genesys/guest/protocol/frames';
import { DEFAULT_MESSENGER_FEATURES, type MessengerFeatures } from '../../src/genesys/platform/messengerConfig';
import { capabilitiesOf } from '../../src/session/capabilities';

/**
 * GET /capabilities from config.json's features and the session's SessionResponse
 * (docs/genesys-protocol.md#deployment-configuration-configjson), every branch on its own.
 */
const NOW = Date.parse('2026-11-23T12:00:00.000Z');

function features(overrides: Partial<MessengerFeatures> = {}): MessengerFeatures {
  return { ...DEFAULT_MESSENGER_FEATURES, ...overrides };
}
const uploads = (mediaTypes: string[], maxBytes: number, fromSession?: boolean) =>
  features({ fileUpload: { mediaTypes, maxBytes, ...(fromSession !== undefined ? { fromSession } : {}) } });
const session = (extra: Partial<SessionResponse> = {}): SessionResponse => ({
  connected: true,
  newSession: true,
  readOnly: false,
  maxCustomDataBytes: 2048,
  ...extra,
});
const inbound = (fileTypes: { type?: string }[] | undefined, maxFileSizeKB?: number): Partial<SessionResponse> => ({
  allowedMedia: {
    inbound: {
      ...(fileTypes !== undefined ? { fileTypes } : {}),
      ...(maxFileSizeKB !== undefined ? { maxFileSizeKB } : {}),
    },
  },
});

describe('attachments from config.json alone (the session states no allowedMedia)', () => {
  test("the deployment's types and size, on", () => {
    expect(capabilitiesOf(uploads(['image/png', 'application/pdf'], 5000), session(), NOW).attachments).toEqual({
      enabled: true,
      mediaTypes: ['image/png', 'application/pdf'],
      maxBytes: 5000,
      blockedExtensions: [],
    });
  });

  test('a session with allowedMedia but no inbound, or an inbound without types or size, leaves them as they are', () => {
    for (const info of [session({ allowedMedia: {} }), session(inbound(undefined))]) {
      expect(capabilitiesOf(uploads(['image/png'], 5000), info, NOW).attachments).toMatchObject({
        enabled: true,
        mediaTypes: ['image/png'],
        maxBytes: 5000,
      });
    }
  });

  test('no types is off, and so is a size of 0; one byte with a type is on', () => {
    expect(capabilitiesOf(uploads([], 5000), session(), NOW).attachments).toMatchObject({
      enabled: false,
      mediaTypes: [],
      maxBytes: 5000,
    });
    expect(capabilitiesOf(uploads(['image/png'], 0), session(), NOW).attachments).toMatchObject({
      enabled: false,
      mediaTypes: ['image/png'],
      maxBytes: 0,
    });
    expect(capabilitiesOf(uploads(['image/png'], 1), session(), NOW).attachments).toMatchObject({
      enabled: true,
      maxBytes: 1,
    });
  });

  test("the session's blocked extensions are passed on", () => {
    expect(
      capabilitiesOf(uploads(['image/png'], 5000), session({ blockedExtensions: ['.exe', '.bat'] }), NOW).attachments
        .blockedExtensions,
    ).toEqual(['.exe', '.bat']);
  });
});

describe('attachments where config.json and the session both speak (enableAttachments absent)', () => {
  test("the session's size narrows the deployment's (a KB being 1000 bytes), and never widens it", () => {
    expect(capabilitiesOf(uploads(['image/png'], 5000), session(inbound(undefined, 2)), NOW).attachments).toMatchObject(
      { enabled: true, mediaTypes: ['image/png'], maxBytes: 2000 },
    );
    expect(capabilitiesOf(uploads(['image/png'], 5000), session(inbound(undefined, 9)), NOW).attachments).toMatchObject(
      { maxBytes: 5000 },
    );
  });

  test('a session size of 0 switches uploads off', () => {
    expect(
      capabilitiesOf(uploads(['image/png'], 5000), session(inbound([{ type: 'image/png' }], 0)), NOW).attachments,
    ).toMatchObject({ enabled: false, maxBytes: 0 });
  });

  test('the types are what both allow: each list narrowed by the other, wildcards covering either way, each type once', () => {
    const both = (config: string[], sessionTypes: string[]) =>
      capabilitiesOf(uploads(config, 5000), session(inbound(sessionTypes.map((type) => ({ type })))), NOW).attachments
        .mediaTypes;
    expect(both(['image/png', 'application/pdf'], ['image/png', 'video/mp4'])).toEqual(['image/png']);
    expect(both(['image/*', 'application/pdf'], ['image/png', 'image/gif'])).toEqual(['image/png', 'image/gif']);
    expect(both(['image/png', 'application/pdf'], ['*/*'])).toEqual(['image/png', 'application/pdf']);
    expect(both(['*/*'], ['video/mp4'])).toEqual(['video/mp4']);
    expect(both(['image/png'], ['text/plain'])).toEqual([]);
  });

  test('a session that states an empty list of types narrows them to none: off, though the size stands', () => {
    expect(capabilitiesOf(uploads(['image/png'], 5000), session(inbound([])), NOW).attachments).toEqual({
      enabled: false,
      mediaTypes: [],
      maxBytes: 5000,
      blockedExtensions: [],
    });
  });

  test("a session's file type without a type names nothing", () => {
    expect(
      capabilitiesOf(uploads(['*/*'], 5000), session(inbound([{}, { type: '' }, { type: 'image/png' }])), NOW)
        .attachments.mediaTypes,
    ).toEqual(['image/png']);
  });
});

describe('attachments with enableAttachments set (true or false): the session alone decides', () => {
  test("the session's types and size, whatever config.json's modes say", () => {
    expect(
      capabilitiesOf(
        uploads(['application/pdf'], 99_000, true),
        session(inbound([{ type: '*/*' }, { type: 'video/3gpp' }], 3)),
        NOW,
      ).attachments,
    ).toEqual({
      enabled: true,
      mediaTypes: ['*/*', 'video/3gpp'],
      maxBytes: 3000,
      blockedExtensions: [],
    });
  });

  test('a session that states no size is off at 0 bytes (never unbounded)', () => {
    const { attachments } = capabilitiesOf(
      uploads(['image/png'], 5000, true),
      session(inbound([{ type: 'image/png' }])),
      NOW,
    );
    expect(attachments).toMatchObject({ enabled: false, mediaTypes: ['image/png'], maxBytes: 0 });
  });

  test('a session that states no types, or no allowedMedia at all, is off with no types', () => {
    expect(
      capabilitiesOf(uploads(['image/png'], 5000, true), session(inbound(undefined, 3)), NOW).attachments,
    ).toMatchObject({ enabled: false, mediaTypes: [], maxBytes: 3000 });
    expect(capabilitiesOf(uploads(['image/png'], 5000, true), session(), NOW).attachments).toMatchObject({
      enabled: false,
      mediaTypes: [],
      maxBytes: 0,
    });
  });

  test('fromSession false is the config.json way, as when it is absent', () => {
    expect(capabilitiesOf(uploads(['image/png'], 5000, false), session(), NOW).attachments).toMatchObject({
      enabled: true,
      mediaTypes: ['image/png'],
      maxBytes: 5000,
    });
  });
});

describe('without a stated size anywhere, nothing is unbounded in JSON', () => {
  test.each([
    ['config.json without modes', undefined],
    ['enableAttachments false, no modes', true],
  ])(
    '%s and a session without allowedMedia: off at 0 bytes, a number (Infinity reaches JSON as null)',
    (_, fromSession) => {
      const { attachments } = capabilitiesOf(uploads([], 0, fromSession), session(), NOW);
      expect(JSON.parse(JSON.stringify(attachments))).toEqual({
        enabled: false,
        mediaTypes: [],
        maxBytes: 0,
        blockedExtensions: [],
      });
    },
  );
});

describe("the session's expiry", () => {
  test('the sliding expiry when there is one, over the SessionResponse', () => {
    const sliding = NOW + 3_600_000;
    const info = session({ expirationDate: NOW / 1000 + 60, durationSeconds: 60 });
    expect(capabilitiesOf(features(), info, NOW, sliding).session).toEqual({
      expiresAt: new Date(sliding).toISOString(),
    });
    expect(capabilitiesOf(features(), session(), NOW, 0).session).toEqual({ expiresAt: new Date(0).toISOString() });
  });

  test("else the SessionResponse's expirationDate (seconds), over its duration", () => {
    const info = session({ expirationDate: NOW / 1000 + 90, durationSeconds: 60 });
    expect(capabilitiesOf(features(), info, NOW).session).toEqual({ expiresAt: new Date(NOW + 90_000).toISOString() });
    expect(capabilitiesOf(features(), session({ expirationDate: 0 }), NOW).session).toEqual({
      expiresAt: new Date(0).toISOString(),
    });
  });

  test('else now plus its durationSeconds', () => {
    expect(capabilitiesOf(features(), session({ durationSeconds: 60 }), NOW).session).toEqual({
      expiresAt: new Date(NOW + 60_000).toISOString(),
    });
    expect(capabilitiesOf(features(), session({ durationSeconds: 0 }), NOW).session).toEqual({
      expiresAt: new Date(NOW).toISOString(),
    });
  });

  test('else null', () => {
    expect(capabilitiesOf(features(), session(), NOW).session).toEqual({ expiresAt: null });
  });
});

describe("the deployment's switches, each from its own feature", () => {
  test('every field as config.json says, none taken from another', () => {
    const on = features({
      conversationClear: true,
      disconnect: { enabled: true, type: 'ReadOnly' },
      agentTypingIndicator: true,
      userTypingIndicator: false,
      autoStart: true,
      languages: ['en-us', 'fr'],
      defaultLanguage: 'fr',
      markdown: true,
      auth: { enabled: true, allowSessionUpgrade: true },
    });
    const { attachments: _, session: __, ...rest } = capabilitiesOf(on, session(), NOW, undefined, true);
    expect(rest).toEqual({
      endChat: true,
      disconnect: { enabled: true, type: 'ReadOnly' },
      typing: { agent: true, guest: false },
      autoStart: true,
      languages: ['en-us', 'fr'],
      defaultLanguage: 'fr',
      markdown: true,
      // Not from config.json: the deployment's own READ_RECEIPTS, as given.
      readReceipts: true,
      authentication: { enabled: true, allowSessionUpgrade: true },
    });
    const off = features({ agentTypingIndicator: false, userTypingIndicator: true });
    const { attachments: ___, session: ____, ...restOff } = capabilitiesOf(off, session(), NOW);
    expect(restOff).toEqual({
      endChat: false,
      disconnect: { enabled: false, type: 'Send' },
      typing: { agent: false, guest: true },
      autoStart: false,
      languages: [],
      defaultLanguage: null,
      markdown: false,
      readReceipts: false,
      authentication: { enabled: false, allowSessionUpgrade: false },
    });
  });

  test.each([
    [true, true, true],
    [true, false, false],
    [false, true, false],
    [false, false, false],
  ])(
    'sign-in %s with session upgrade %s: upgrade reported %s (an upgrade means nothing without sign-in)',
    (enabled, allowSessionUpgrade, reported) => {
      expect(
        capabilitiesOf(features({ auth: { enabled, allowSessionUpgrade } }), session(), NOW).authentication,
      ).toEqual({ enabled, allowSessionUpgrade: reported });
    },
  );
});
