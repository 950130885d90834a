import fs from 'node:fs';
import programs from './debianPrograms.json';

/**
 * The Debian programs the full test run drives (debianPrograms.json: where the
 * tests look for each, and the variable that moves it, as in
 * scripts/test-prerequisites.sh), by package name. Every helper and suite that
 * starts one asks here, so the quick lane (`npm run test:quick`,
 * jest.quick.config.js) can refuse it clearly: a suite that starts one must say
 * so with `@needs <package>` in its docblock, which leaves it out of that lane
 * (test/lint/quickLane.test.ts checks both).
 */
export const DEBIAN_PROGRAMS: Record<keyof typeof programs, { variable: string; path: string }> = programs;

export type DebianPackage = keyof typeof DEBIAN_PROGRAMS;

/** What a suite may name after `@needs`: a Debian package above, or `root`. */
export const NEEDS = [...Object.keys(DEBIAN_PROGRAMS), 'root'] as const;

/** Set by jest.quick.config.js. */
export const inQuickLane = (): boolean => process.env.BFF_TEST_LANE === 'quick';

function refuseInQuickLane(what: string, need: string): void {
  if (!inQuickLane()) return;
  const suite = expect.getState().testPath ?? 'this suite';
  throw new Error(
    `${suite} needs ${what}, which the quick lane (npm run test:quick) runs without. ` +
      `Add \`@needs ${need}\` to the suite's docblock: npm test runs it, the quick lane leaves it out.`,
  );
}

/** The program of a Debian package, as the full run finds it; refused in the quick lane, and a clear error when missing. */
export function debianProgram(pkg: DebianPackage): string {
  const { variable, path } = DEBIAN_PROGRAMS[pkg];
  refuseInQuickLane(`Debian's ${pkg}`, pkg);
  const program = process.env[variable] ?? path;
  if (!fs.existsSync(program)) {
    throw new Error(
      `${program} is missing: install Debian's ${pkg} (\`apt-get install -y ${pkg}\`; npm test does it for you) or point ${variable} at it.`,
    );
  }
  return program;
}

/** For a suite that must run as root; refused in the quick lane, which runs as any user. */
export function requireRoot(why: string): void {
  refuseInQuickLane('root', 'root');
  if (process.getuid?.() !== 0) throw new Error(`${why}: run it as root (CI does)`);
}
