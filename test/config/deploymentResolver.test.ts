import fc from 'fast-check';
import { DeploymentResolver } from '../../src/config/deploymentResolver';
import { OriginAllowlist } from '../../src/config/originAllowlist';
import { deploymentOf, type Deployment } from '../../src/config/deployments';
import { testConfig } from '../support/app';

/**
 * Which deployment serves a request: the one whose origins allow its Origin, each origin belonging to exactly one
 * deployment; an explicit deployment name only ever confirms that one.
 */

const base = deploymentOf(testConfig());
const deployment = (name: string, allowedOrigins: string[]): Deployment => ({ ...base, name, allowedOrigins });

/** Deployments with distinct origins: each host label belongs to one deployment, exact or as a wildcard's parent. */
const deploymentSets = fc
  .uniqueArray(
    fc.record({
      label: fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
      owner: fc.nat({ max: 4 }),
      wildcard: fc.boolean(),
    }),
    { selector: (o) => o.label, minLength: 1, maxLength: 12 },
  )
  .map((origins) => {
    const owners = [...new Set(origins.map((o) => o.owner))];
    return owners.map((owner) => ({
      deployment: deployment(
        `site-${owner}`,
        origins
          .filter((o) => o.owner === owner)
          .map((o) => (o.wildcard ? `https://*.${o.label}.example` : `https://${o.label}.example`)),
      ),
      // A browser origin each entry allows.
      browserOrigins: origins
        .filter((o) => o.owner === owner)
        .map((o) => (o.wildcard ? `https://page.${o.label}.example` : `https://${o.label}.example`)),
    }));
  });

describe('DeploymentResolver', () => {
  it('maps every allowed origin to exactly one deployment, its own', () => {
    fc.assert(
      fc.property(deploymentSets, (sites) => {
        const resolver = new DeploymentResolver(sites.map((s) => s.deployment));
        for (const { deployment: own, browserOrigins } of sites) {
          for (const origin of browserOrigins) {
            const allowing = sites.filter((s) => OriginAllowlist.parse(s.deployment.allowedOrigins).allows(origin));
            expect(allowing.map((s) => s.deployment.name)).toEqual([own.name]);
            expect(resolver.resolve(origin)).toEqual({ deployment: own });
            expect(resolver.resolve(origin, own.name)).toEqual({ deployment: own });
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses an origin no deployment allows', () => {
    fc.assert(
      fc.property(deploymentSets, fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), (sites, label) => {
        const resolver = new DeploymentResolver(sites.map((s) => s.deployment));
        // `.invalid` is no deployment's, nor is plain http, nor a host two labels under a wildcard.
        for (const origin of [`https://${label}.invalid`, `http://${label}.example`, `https://a.b.${label}.example`]) {
          expect(resolver.resolve(origin)).toEqual({ refused: 'unknown-origin' });
          expect(resolver.forOrigin(origin)).toBeUndefined();
        }
      }),
      { numRuns: 100 },
    );
  });

  it("refuses an explicit name that is not the origin's deployment: another site's, or none", () => {
    fc.assert(
      fc.property(
        deploymentSets.filter((sites) => sites.length > 1),
        (sites) => {
          const resolver = new DeploymentResolver(sites.map((s) => s.deployment));
          const [first, second] = sites;
          const origin = first!.browserOrigins[0]!;
          expect(resolver.resolve(origin, second!.deployment.name)).toEqual({ refused: 'not-for-origin' });
          expect(resolver.resolve(origin, 'no-such-site')).toEqual({ refused: 'not-for-origin' });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('serves a request without an Origin from the only deployment, and guesses none among several', () => {
    const a = deployment('brand-a', ['https://a.example']);
    const b = deployment('brand-b', ['https://b.example']);
    expect(new DeploymentResolver([a]).resolve(undefined)).toEqual({ deployment: a });
    expect(new DeploymentResolver([a]).resolve(undefined, 'brand-b')).toEqual({ refused: 'not-for-origin' });
    expect(new DeploymentResolver([a, b]).resolve(undefined)).toEqual({ refused: 'origin-required' });
    expect(new DeploymentResolver([a, b]).resolve(undefined, 'brand-b')).toEqual({ refused: 'origin-required' });
  });

  it('the one deployment of the variables serves every origin they allow, as the service does today', () => {
    const resolver = new DeploymentResolver([base]);
    for (const origin of ['https://shop.example.com', 'http://localhost:3000', 'https://news.example.org']) {
      expect(resolver.resolve(origin)).toEqual({ deployment: base });
    }
    expect(resolver.resolve('https://evil.example.net')).toEqual({ refused: 'unknown-origin' });
  });

  it('refuses to be built over deployments that share an origin', () => {
    const a = deployment('brand-a', ['https://*.example.com']);
    const b = deployment('brand-b', ['https://shop.example.com']);
    expect(() => new DeploymentResolver([a, b])).toThrow(
      'origin "https://shop.example.com" of deployment "brand-b" overlaps "https://*.example.com" of deployment ' +
        '"brand-a": each origin must belong to one deployment',
    );
  });
});
