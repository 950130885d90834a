import type { IncomingMessage } from 'node:http';
import { Router } from 'express';
import fc from 'fast-check';
import type { Deployment } from '../../src/config/deployment';
import { OriginAllowlist } from '../../src/config/originAllowlist';
import { ServedDeployments, type ServedDeployment } from '../../src/deployments';
import { deriveKeys, Sealer } from '../../src/session';

/**
 * Which deployment a request is for (src/deployments/servedDeployments.ts): its Origin; without one, the key of what
 * it carries sealed (a bearer token, a stream ticket, an attachment link); else X-Deployment; with several
 * deployments and none of these, none, which only the process's own routes serve.
 */

const SECRETS = ['session-secret-for-choosing-0123456789abcdef'];

/** A deployment as the set holds it: what choosing reads of it (name, origins, sealing keys). */
function served(name: string, origins: string[]): ServedDeployment {
  const keys = deriveKeys(SECRETS, name === 'default' ? undefined : name);
  return {
    deployment: { name, allowedOrigins: origins } as Deployment,
    edge: { name, origins: OriginAllowlist.parse(origins), routes: Router(), specs: [] },
    keyIds: new Set(keys.map((k) => k.kid)),
  } as unknown as ServedDeployment;
}

/** Something sealed by `name`'s keys, as its tokens, tickets and links are. */
const sealedBy = (name: string) =>
  new Sealer(deriveKeys(SECRETS, name === 'default' ? undefined : name)).sealSync({ what: 'anything' });

const request = (headers: Record<string, string> = {}, url = '/messages') =>
  ({
    url,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  }) as IncomingMessage;

const SHOP = served('shop', ['https://shop.example', 'https://*.shop.example']);
const CLINIC = served('clinic', ['https://clinic.example']);
const DEFAULT = served('default', ['https://www.example']);
const several = () => new ServedDeployments([SHOP, CLINIC, DEFAULT]);
const chosen = (set: ServedDeployments, req: IncomingMessage) => set.choose(req).deployment?.name;

describe('one deployment', () => {
  test('every request is for it, whatever it sends, and nothing more is varied on', () => {
    const one = new ServedDeployments([SHOP]);
    for (const req of [
      request(),
      request({ Origin: 'https://elsewhere.example' }),
      request({ 'X-Deployment': 'clinic' }),
      request({ Authorization: `Bearer ${sealedBy('clinic')}` }),
    ])
      expect(one.choose(req)).toEqual({ deployment: SHOP.edge, vary: [] });
  });
});

describe('several deployments', () => {
  test('a page is for the deployment its Origin belongs to, wildcards included', () => {
    expect(chosen(several(), request({ Origin: 'https://clinic.example' }))).toBe('clinic');
    expect(chosen(several(), request({ Origin: 'https://a.shop.example' }))).toBe('shop');
    expect(chosen(several(), request({ Origin: 'https://www.example' }))).toBe('default');
  });

  test('an Origin no deployment allows chooses none (CORS refuses it), and refuses nothing itself', () => {
    expect(several().choose(request({ Origin: 'https://elsewhere.example' }))).toEqual({
      deployment: undefined,
      vary: ['Origin', 'X-Deployment', 'Authorization'],
    });
  });

  test("an X-Deployment that is not the Origin's deployment is refused, with the Origin's deployment's headers", () => {
    const choice = several().choose(request({ Origin: 'https://clinic.example', 'X-Deployment': 'shop' }));
    expect(choice.deployment?.name).toBe('clinic');
    expect(choice.refusal).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/"shop"/) });
    expect(
      several().choose(request({ Origin: 'https://clinic.example', 'X-Deployment': 'clinic' })).refusal,
    ).toBeUndefined();
  });

  test.each([
    ['a bearer token', (sealed: string) => request({ Authorization: `Bearer ${sealed}` })],
    ['a stream ticket', (sealed: string) => request({}, `/messages/stream?routingKey=r&ticket=${sealed}`)],
    [
      'an attachment link (an <img> sends no Origin)',
      (sealed: string) => request({}, `/attachments/a/content?link=${sealed}`),
    ],
    ["an e-mail's confirm or stop link", (sealed: string) => request({}, `/notifications/email/stop?t=${sealed}`)],
    ['a URL that is only its query', (sealed: string) => request({}, `?ticket=${sealed}`)],
    ['a bearer token after more than one space', (sealed: string) => request({ Authorization: `Bearer   ${sealed}` })],
  ])('without an Origin, %s names the deployment whose key sealed it, whatever X-Deployment says', (_, carrying) => {
    fc.assert(
      fc.property(
        fc.constantFrom('shop', 'clinic', 'default'),
        fc.constantFrom('shop', 'clinic', 'default', 'x'),
        (owner, named) => {
          const req = carrying(sealedBy(owner));
          req.headers['x-deployment'] = named;
          expect(chosen(several(), req)).toBe(owner);
        },
      ),
    );
  });

  test('without an Origin or anything sealed, X-Deployment names the deployment', () => {
    expect(chosen(several(), request({ 'X-Deployment': 'clinic' }))).toBe('clinic');
    // A token no deployment sealed (or no token at all) leaves the choice to the header.
    expect(chosen(several(), request({ Authorization: 'Bearer not.a.token', 'X-Deployment': 'shop' }))).toBe('shop');
    expect(chosen(several(), request({ Authorization: `Bearer ${sealedBy('gone')}`, 'X-Deployment': 'shop' }))).toBe(
      'shop',
    );
  });

  test('what only looks sealed leaves the choice to X-Deployment: another scheme, more after the token, no query', () => {
    const sealed = sealedBy('clinic');
    for (const req of [
      request({ Authorization: `NotBearer ${sealed}` }),
      request({ Authorization: `Bearer ${sealed} more` }),
      request({}, `/attachments/a&link=${sealed}`),
      { headers: {} } as IncomingMessage,
    ]) {
      req.headers['x-deployment'] = 'shop';
      expect(chosen(several(), req)).toBe('shop');
    }
  });

  test('X-Deployment is read trimmed', () => {
    expect(chosen(several(), request({ 'X-Deployment': '  clinic ' }))).toBe('clinic');
  });

  test('a refusal quotes at most 40 characters of the X-Deployment it names', () => {
    const long = `a${'b'.repeat(39)}${'c'.repeat(60)}`;
    const quoted = (req: IncomingMessage) => /names "([^"]*)"/.exec(several().choose(req).refusal!.message)?.[1];
    expect(quoted(request({ 'X-Deployment': long }))).toBe(long.slice(0, 40));
    expect(quoted(request({ 'X-Deployment': long, Origin: 'https://clinic.example' }))).toBe(long.slice(0, 40));
  });

  test('with nothing to choose by, none is chosen and a deployment route is refused naming the ways to choose', () => {
    const { deployment, refusal } = several().choose(request());
    expect(deployment).toBeUndefined();
    expect(refusal).toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/several deployments \(shop, clinic, default\).*X-Deployment/),
    });
    expect(several().choose(request({ 'X-Deployment': 'nowhere' })).refusal?.message).toMatch(
      /X-Deployment names "nowhere", which this service does not serve; it serves shop, clinic, default/,
    );
  });

  test('every choice varies on all that could have chosen', () => {
    for (const req of [request(), request({ Origin: 'https://clinic.example' }), request({ 'X-Deployment': 'shop' })])
      expect(several().choose(req).vary).toEqual(['Origin', 'X-Deployment', 'Authorization']);
  });
});

describe('replacing the set', () => {
  test('serves the new set from the next request on, its sealed tokens with it', () => {
    const set = several();
    const outlet = served('outlet', ['https://outlet.example']);
    set.replace([SHOP, outlet]);
    expect(chosen(set, request({ Authorization: `Bearer ${sealedBy('outlet')}` }))).toBe('outlet');
    expect(chosen(set, request({ Origin: 'https://clinic.example' }))).toBeUndefined();
    expect(set.allows('https://outlet.example')).toBe(true);
    expect(set.allows('https://clinic.example')).toBe(false);
  });

  test('refuses a set in which two deployments share an origin, and keeps the one it had', () => {
    const set = several();
    expect(() => set.replace([SHOP, served('copy', ['https://b.shop.example'])])).toThrow(
      'origin "https://b.shop.example" of deployment "copy" overlaps "https://*.shop.example" of deployment "shop": ' +
        'each origin must belong to one deployment',
    );
    expect(set.all.map((d) => d.deployment.name)).toEqual(['shop', 'clinic', 'default']);
  });
});
