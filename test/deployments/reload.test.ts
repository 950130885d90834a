import { Router } from 'express';
import type { Deployment } from '../../src/config/deployment';
import { OriginAllowlist } from '../../src/config/originAllowlist';
import { reloadDeployments, ServedDeployments, type ServedDeployment } from '../../src/deployments';

/**
 * A reload of the deployments file (src/deployments/reload.ts), on deployments that record what is done to them: which
 * are built anew, which rotate their OAuth client in place, which go on untouched, and which stop.
 */

const CLIENT = { clientId: 'client-one', clientSecret: 'secret-one' };

function deployment(name: string, changes: { deploymentId?: string; credentials?: object | null } = {}): Deployment {
  const { deploymentId = `id-of-${name}`, credentials = CLIENT } = changes;
  return {
    name,
    allowedOrigins: [`https://${name}.example`],
    genesys: { deploymentId, ...(credentials ? { credentials } : {}) },
  } as unknown as Deployment;
}

/** A running deployment: what a reload reads of it and does to it. */
function running(d: Deployment) {
  return {
    deployment: d,
    edge: { name: d.name, origins: OriginAllowlist.parse(d.allowedOrigins), routes: Router(), specs: [] },
    keyIds: new Set<string>(),
    platform: { tokenCache: { rotate: jest.fn() } },
    endStreams: jest.fn(),
    close: jest.fn(async () => undefined),
  };
}
type Running = ReturnType<typeof running>;

const names = (set: ServedDeployments) => set.all.map((d) => d.deployment.name);
const asServed = (r: Running) => r as unknown as ServedDeployment;

test('a reload adds, removes, rotates and rebuilds by what changed, and leaves the rest alone', async () => {
  const before = {
    same: running(deployment('same')),
    rotating: running(deployment('rotating')),
    moved: running(deployment('moved')),
    given: running(deployment('given', { credentials: null })),
    taken: running(deployment('taken')),
    gone: running(deployment('gone')),
  };
  const set = new ServedDeployments(Object.values(before).map(asServed));
  const rotated = { clientId: 'client-two', clientSecret: 'secret-two' };
  const next = [
    deployment('same'),
    deployment('rotating', { credentials: rotated }),
    deployment('moved', { deploymentId: 'another-id' }),
    // Credentials given where there were none, or taken away, change which Platform features exist.
    deployment('given'),
    deployment('taken', { credentials: null }),
    deployment('fresh'),
  ];
  const built: Running[] = [];
  const outcome = await reloadDeployments(set, next, (d) => {
    const made = running(d);
    built.push(made);
    return asServed(made);
  });

  expect(outcome).toEqual({
    added: ['fresh'],
    removed: ['gone'],
    rotated: ['rotating'],
    rebuilt: ['moved', 'given', 'taken'],
    unchanged: ['same'],
  });
  expect(built.map((d) => d.deployment.name)).toEqual(['moved', 'given', 'taken', 'fresh']);
  expect(names(set)).toEqual(['same', 'rotating', 'moved', 'given', 'taken', 'fresh']);
  expect(set.all[0]).toBe(before.same);
  // The rotated one keeps its chats and platform, with the new settings, and takes its next token with the new client.
  expect(set.all[1]).toMatchObject({ deployment: next[1], platform: before.rotating.platform });
  expect(before.rotating.platform.tokenCache.rotate.mock.calls).toEqual([[rotated]]);
  for (const kept of [before.same, ...built]) expect(kept.platform.tokenCache.rotate).not.toHaveBeenCalled();
  // What was built anew or removed stops, its streams told to reconnect; the rest runs on.
  for (const retired of [before.moved, before.given, before.taken, before.gone]) {
    expect(retired.endStreams).toHaveBeenCalledTimes(1);
    expect(retired.close).toHaveBeenCalledTimes(1);
  }
  for (const kept of [before.same, before.rotating, ...built]) {
    expect(kept.endStreams).not.toHaveBeenCalled();
    expect(kept.close).not.toHaveBeenCalled();
  }
});

describe('a reload that fails half way serves nothing of it', () => {
  test('a build that throws: what it built stops, and the running set stays, none of it stopped', async () => {
    const old = [running(deployment('one')), running(deployment('two'))];
    const set = new ServedDeployments(old.map(asServed));
    const built: Running[] = [];
    const reload = reloadDeployments(set, [deployment('fresh'), deployment('two', { deploymentId: 'x' })], (d) => {
      if (d.name === 'two') throw new Error('two cannot be built');
      const made = running(d);
      built.push(made);
      return asServed(made);
    });
    await expect(reload).rejects.toThrow('two cannot be built');
    expect(built).toHaveLength(1);
    expect(built[0]!.close).toHaveBeenCalledTimes(1);
    expect(names(set)).toEqual(['one', 'two']);
    for (const d of old) {
      expect(d.close).not.toHaveBeenCalled();
      expect(d.endStreams).not.toHaveBeenCalled();
    }
  });

  test('a set the served deployments refuse (two share an origin): what it built stops', async () => {
    const old = running(deployment('one'));
    const set = new ServedDeployments([asServed(old)]);
    const copy = { ...deployment('copy'), allowedOrigins: ['https://one.example'] };
    const built: Running[] = [];
    const reload = reloadDeployments(set, [deployment('one'), copy], (d) => {
      const made = running(d);
      built.push(made);
      return asServed(made);
    });
    await expect(reload).rejects.toThrow(/overlaps/);
    expect(built.map((d) => [d.deployment.name, d.close.mock.calls.length])).toEqual([['copy', 1]]);
    expect(set.all).toHaveLength(1);
    expect(set.all[0]).toBe(old);
    expect(old.close).not.toHaveBeenCalled();
  });
});
