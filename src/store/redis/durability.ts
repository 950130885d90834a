/**
 * How Redis must keep its data for the service's promises to hold
 * (README.md#scaling-out): the settings the start-up check reads, and what it
 * says about each that can lose records.
 */

/** What a Redis that can lose records is told to change, by setting; empty when it keeps them. */
export function durabilityProblems(settings: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (settings.appendonly !== 'yes') {
    problems.push(
      settings.save === undefined || settings.save === ''
        ? 'appendonly is no and save is "": a restart of Redis loses every record; set appendonly yes'
        : `appendonly is no: only snapshots (save "${settings.save}") are kept, ` +
            'so a restart loses the writes since the last one; set appendonly yes',
    );
  } else if (settings.appendfsync === 'no') {
    problems.push(
      'appendfsync is no: a crash of the host loses what the kernel had not yet written; set appendfsync everysec',
    );
  }
  if (settings['maxmemory-policy'] !== undefined && settings['maxmemory-policy'] !== 'noeviction') {
    problems.push(
      `maxmemory-policy is ${settings['maxmemory-policy']}: Redis drops records to make room when full; ` +
        'set maxmemory-policy noeviction',
    );
  }
  return problems;
}

/**
 * The settings durabilityProblems judges, by their CONFIG GET
 * names (a function, so that each caller gets its own list).
 */
export function checkedSettings(): string[] {
  return ['appendonly', 'appendfsync', 'save', 'maxmemory-policy'];
}
