import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Which seeds a soak command runs, and where each comes from: one given (`--seed S`), one derived from the
 * commit (`--seed commit`, what CI runs), N drawn at run time from a fresh random source (`--seeds N`), a range
 * (`--seeds A..B`), or every seed that once failed (`--regressions`, kept in test/soak/regressions.json).
 * Seeds are 32-bit: the seeded source (random.ts) reads no more.
 */

export interface RunSettings {
  seed: number;
  minutes: number;
  instances: number;
  sessions: number;
}

/** How the runs of one command were chosen: the report keeps a part for each. */
export type RunChoice = 'single' | 'seeds' | 'regressions';

export interface RunPlan {
  choice: RunChoice;
  runs: RunSettings[];
  /** Where the seeds came from ("drawn at run time", "commit 9f3a06c2"...), for the output and the report. */
  origin: string;
  out?: string;
}

/** One seed that once failed, with the settings it failed at. */
export interface RegressionCase extends RunSettings {
  /** The violation kinds it failed with. */
  failedWith: string[];
  /** The day it failed (YYYY-MM-DD) and the commit it ran, when known. */
  found: string;
  commit?: string;
}

export const REGRESSIONS_FILE = path.join(__dirname, 'regressions.json');
const SEED_LIMIT = 2 ** 32;
const MOST_SEEDS = 100;

export const USAGE =
  'usage: npm run soak -- [--minutes 0<M<=240] [--seed S | --seed commit | --seeds N | --seeds A..B | --regressions]\n' +
  '                       [--instances 2..8] [--sessions 1..200] [--out DIR]';

/** The seed of a commit: its first 8 hex digits as a number (the same commit always soaks the same way). */
export function seedOfCommit(sha: string): number {
  if (!/^[0-9a-f]{8}/i.test(sha)) throw new Error(`not a commit id: ${JSON.stringify(sha)}`);
  return parseInt(sha.slice(0, 8), 16);
}

/** The seed a `--seed commit` run takes: the commit's, or, without git, the time's (seconds since 1970, 32 bits). */
export function commitOrTimeSeed(head: string | undefined, nowMs: number): { seed: number; origin: string } {
  const sha = head?.trim();
  if (sha && /^[0-9a-f]{8}/i.test(sha)) return { seed: seedOfCommit(sha), origin: `commit ${sha.slice(0, 8)}` };
  const seed = Math.floor(nowMs / 1000) % SEED_LIMIT;
  return { seed, origin: `the time (no commit): ${new Date(nowMs).toISOString()}` };
}

/** `count` distinct seeds from `draw` (by default the operating system's random source, seeded by nobody). */
export function drawSeeds(count: number, draw: () => number = () => randomInt(0, SEED_LIMIT)): number[] {
  const seeds = new Set<number>();
  while (seeds.size < count) seeds.add(draw());
  return [...seeds];
}

/** `A..B`, both ends included, at most MOST_SEEDS seeds; undefined when it is not one. */
export function seedRange(value: string): number[] | undefined {
  const m = /^(\d+)\.\.(\d+)$/.exec(value);
  if (!m) return undefined;
  const [from, to] = [Number(m[1]), Number(m[2])];
  if (to < from || to >= SEED_LIMIT || to - from + 1 > MOST_SEEDS) return undefined;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export interface SeedSources {
  /** The commit checked out (`git rev-parse HEAD`), undefined without git. */
  head: () => string | undefined;
  now: () => number;
  /** A fresh seed (default: the operating system's random source). */
  draw?: () => number;
  regressions: () => RegressionCase[];
}

/** The runs a command line asks for; throws with what is wrong and the usage. */
export function planRuns(argv: readonly string[], sources: SeedSources): RunPlan {
  const settings = { minutes: 10, instances: 4, sessions: 24 };
  let out: string | undefined;
  let choice: { flag: string; value: string } | undefined;
  const refuse = (why: string): never => {
    throw new Error(`soak: ${why}\n${USAGE}`);
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i]!;
    if (flag === '--regressions') {
      if (choice) refuse(`${flag} and ${choice.flag} choose the seeds twice`);
      choice = { flag, value: '' };
      continue;
    }
    const value = argv[(i += 1)];
    const n = Number(value);
    if (value === undefined) refuse(`${flag} needs a value`);
    else if (flag === '--out') out = path.resolve(value);
    else if (flag === '--minutes' && n > 0 && n <= 240) settings.minutes = n;
    else if (flag === '--instances' && Number.isInteger(n) && n >= 2 && n <= 8) settings.instances = n;
    else if (flag === '--sessions' && Number.isInteger(n) && n >= 1 && n <= 200) settings.sessions = n;
    else if (flag === '--seed' || flag === '--seeds') {
      if (choice) refuse(`${flag} and ${choice.flag} choose the seeds twice`);
      choice = { flag, value };
    } else refuse(`bad argument ${flag} ${value}`);
  }

  const runs = (seeds: number[]) => seeds.map((seed) => ({ seed, ...settings }));
  if (choice === undefined) {
    const [seed] = drawSeeds(1, sources.draw);
    return { choice: 'single', runs: runs([seed!]), origin: 'drawn at run time', out };
  }
  const { flag, value } = choice;
  if (flag === '--regressions') {
    const cases = sources.regressions();
    if (cases.length === 0) refuse('no seed has failed yet: test/soak/regressions.json lists none');
    const runsOf = cases.map(({ seed, minutes, instances, sessions }) => ({ seed, minutes, instances, sessions }));
    return { choice: 'regressions', runs: runsOf, origin: 'the seeds that once failed', out };
  }
  if (flag === '--seed' && value === 'commit') {
    const { seed, origin } = commitOrTimeSeed(sources.head(), sources.now());
    return { choice: 'single', runs: runs([seed]), origin, out };
  }
  const n = Number(value);
  if (flag === '--seed') {
    if (!/^\d+$/.test(value) || n >= SEED_LIMIT) refuse(`--seed takes a whole number below 2^32, or commit`);
    return { choice: 'single', runs: runs([n]), origin: 'given on the command line', out };
  }
  if (/^\d+$/.test(value) && n >= 1 && n <= MOST_SEEDS)
    return { choice: 'seeds', runs: runs(drawSeeds(n, sources.draw)), origin: 'drawn at run time', out };
  const range = seedRange(value);
  if (!range) refuse(`--seeds takes a count (1..${MOST_SEEDS}) or a range A..B of at most ${MOST_SEEDS} seeds`);
  return { choice: 'seeds', runs: runs(range!), origin: `the range ${value}`, out };
}

/**
 * Whether model customers opt in to Web Push (docs/testing.md#the-chaos-soak): on unless SOAK_PUSH=0, which a run
 * without them carries in its replay command.
 */
export const pushCustomers = (env: NodeJS.ProcessEnv = process.env): boolean => env.SOAK_PUSH !== '0';

export function replayCommand(r: RunSettings, env: NodeJS.ProcessEnv = process.env): string {
  return `${pushCustomers(env) ? '' : 'SOAK_PUSH=0 '}npm run soak -- --minutes ${r.minutes} --seed ${r.seed} --instances ${r.instances} --sessions ${r.sessions}`;
}

export function readRegressions(file = REGRESSIONS_FILE): RegressionCase[] {
  if (!fs.existsSync(file)) return [];
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: RegressionCase[] }).cases;
}

/** Adds a failing run to the regression cases unless it is there already; true when it was added. */
export function keepRegression(found: RegressionCase, file = REGRESSIONS_FILE): boolean {
  const cases = readRegressions(file);
  const same = (c: RunSettings) =>
    c.seed === found.seed &&
    c.minutes === found.minutes &&
    c.instances === found.instances &&
    c.sessions === found.sessions;
  if (cases.some(same)) return false;
  const about =
    'Seeds that once failed the chaos soak, each with the settings it failed at. `npm run soak -- --regressions` ' +
    'runs them all (docs/testing.md, "The chaos soak"); a failing run adds itself here.';
  fs.writeFileSync(file, `${JSON.stringify({ about, cases: [...cases, found] }, null, 2)}\n`);
  return true;
}
