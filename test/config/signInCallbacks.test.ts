import { ConfigError } from '../../src/config/schema';
import { signInCallbacks } from '../../src/config/signInCallbacks';
import { TEST_ORIGINS, testConfig } from '../support/app';

/**
 * Where a sign-in's code may have been sent back to (docs/configuration.md,
 * SIGN_IN_REDIRECT_URIS): one of the listed callback URLs exactly, or, with
 * none listed, an http(s) page on an origin CORS_ALLOWED_ORIGINS allows.
 * test/api/signIn.test.ts shows the refusal (400 before Genesys is asked).
 */

const refusal = (env: Record<string, string>): string[] => {
  try {
    testConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
};

describe('SIGN_IN_REDIRECT_URIS', () => {
  it('is read as a list of callback URLs, blanks dropped', () => {
    expect(testConfig().deployments[0]!.signInRedirectUris).toBeUndefined();
    expect(
      testConfig({ SIGN_IN_REDIRECT_URIS: ' https://shop.example.com/signed-in , ,http://localhost:3000/cb,' })
        .deployments[0]!.signInRedirectUris,
    ).toEqual(['https://shop.example.com/signed-in', 'http://localhost:3000/cb']);
  });

  it.each([
    ['shop.example.com/signed-in', /is not an absolute URL/],
    ['ftp://shop.example.com/signed-in', /must use http or https/],
    ['https://user:pw@shop.example.com/signed-in', /may not carry credentials or a #fragment/],
    ['https://shop.example.com/signed-in#done', /may not carry credentials or a #fragment/],
  ])('refuses %s at start-up, naming the variable and the entry', (uri, reason) => {
    const problems = refusal({ SIGN_IN_REDIRECT_URIS: `https://shop.example.com/ok,${uri}` });
    expect(problems).toEqual([expect.stringMatching(reason)]);
    expect(problems[0]!.startsWith(`SIGN_IN_REDIRECT_URIS: "${uri}"`)).toBe(true);
  });

  it('tells the operator how to write a callback that is not a URL', () => {
    expect(refusal({ SIGN_IN_REDIRECT_URIS: 'signed-in' })).toEqual([
      'SIGN_IN_REDIRECT_URIS: "signed-in" is not an absolute URL; write the callback URL as sent to the identity ' +
        'provider, e.g. https://shop.example.com/signed-in',
    ]);
  });
});

describe('signInCallbacks', () => {
  it('with callbacks listed, takes exactly those (as OAuth compares redirect URIs)', () => {
    const allowed = signInCallbacks(['https://shop.example.com/signed-in', 'http://localhost:3000/cb'], TEST_ORIGINS);
    expect(allowed('https://shop.example.com/signed-in')).toBe(true);
    expect(allowed('http://localhost:3000/cb')).toBe(true);
    for (const uri of [
      'https://shop.example.com/signed-in/',
      'https://shop.example.com/signed-in?x=1',
      'https://shop.example.com/other',
      'https://a.example.org/signed-in',
    ]) {
      expect({ uri, allowed: allowed(uri) }).toEqual({ uri, allowed: false });
    }
  });

  it('with none listed, takes an http(s) page on an allowed origin', () => {
    const allowed = signInCallbacks(undefined, TEST_ORIGINS);
    for (const uri of [
      'https://shop.example.com/signed-in',
      'http://localhost:3000/cb?state=1',
      'https://chat.example.org/',
    ]) {
      expect({ uri, allowed: allowed(uri) }).toEqual({ uri, allowed: true });
    }
  });

  it.each([
    ['another website', 'https://evil.example.net/signed-in'],
    ['a look-alike host', 'https://shop.example.com.evil.example.net/cb'],
    ['an allowed host on another scheme', 'http://shop.example.com/signed-in'],
    ['not a URL', 'not a url'],
    ['a relative path', '/signed-in'],
    ['a user name', 'https://user@shop.example.com/signed-in'],
    ['a password', 'https://:pw@shop.example.com/signed-in'],
    ['a fragment', 'https://shop.example.com/signed-in#done'],
  ])('with none listed, refuses %s: %s', (_why, uri) => {
    expect(signInCallbacks(undefined, TEST_ORIGINS)(uri)).toBe(false);
  });
});
