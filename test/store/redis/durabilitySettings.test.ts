import { durabilityProblems } from '../../../src/store/redis/durability';

/**
 * What src/store/redis/durability.ts says about settings a Redis does not report: CONFIG GET answers
 * nothing for a setting a managed Redis hides or an older one lacks, and the check must neither
 * invent a value for it nor take its silence for a problem.
 */

test('no `save` reported with appendonly off is the same as none: a restart loses every record', () => {
  expect(durabilityProblems({ appendonly: 'no', 'maxmemory-policy': 'noeviction' })).toEqual([
    'appendonly is no and save is "": a restart of Redis loses every record; set appendonly yes',
  ]);
});

test('no `maxmemory-policy` reported is not an eviction policy', () => {
  expect(durabilityProblems({ appendonly: 'yes', appendfsync: 'everysec' })).toEqual([]);
});

test('no `appendonly` reported is not an append-only file', () => {
  expect(durabilityProblems({ save: '3600 1', 'maxmemory-policy': 'noeviction' })).toEqual([
    'appendonly is no: only snapshots (save "3600 1") are kept, so a restart loses the writes since the last one; set appendonly yes',
  ]);
});
