/* eslint-disable no-console -- a command-line program: the console is its output */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { VIOLATION_KINDS } from './checker';
import { writeReport, type RunReport } from './report';
import { runSeed, type RunHandle } from './seedRun';
import { keepRegression, planRuns, readRegressions, replayCommand, type RunPlan } from './seeds';
import { killChildrenNow } from './world';

/**
 * `npm run soak -- [--minutes M] [--seed S | --seed commit | --seeds N | --seeds A..B | --regressions]
 * [--instances N] [--sessions K] [--out DIR]`: the chaos soak (docs/reliability.md#the-chaos-soak), one seed or
 * several in sequence, each printed with the command that replays it. Bounded: each run takes M minutes plus
 * start-up and checks; a watchdog ends a run M + 5 minutes in whatever happens. A failing seed is added to
 * test/soak/regressions.json. Exits 1 when any run found a violation.
 */

const OUT = path.join(__dirname, '../../bench/soak');

function gitHead(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

function plan(): RunPlan {
  try {
    return planRuns(process.argv.slice(2), { head: gitHead, now: Date.now, regressions: () => readRegressions() });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const { choice, runs, origin, out = OUT } = plan();
  const startedAt = new Date().toISOString();
  const argv = process.argv.slice(2).join(' ');
  console.log(`soak: ${runs.length === 1 ? 'seed' : 'seeds'} ${runs.map((r) => r.seed).join(', ')} (${origin})`);

  const handle: RunHandle = {};
  const stopOnSignal = (signal: NodeJS.Signals) => {
    console.error(`soak: ${signal}; stopping every process it started`);
    // Stopped in order (their temporary directories removed too), else killed outright after 10 s.
    const done = () => {
      killChildrenNow();
      process.exit(130);
    };
    setTimeout(done, 10_000).unref();
    void (handle.world?.stop() ?? Promise.resolve()).then(done, done);
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  process.once('exit', killChildrenNow);

  const reports: RunReport[] = [];
  for (const [i, settings] of runs.entries()) {
    console.log(
      `\nsoak: run ${i + 1} of ${runs.length}: seed ${settings.seed}; replay with: ${replayCommand(settings)}`,
    );
    const watchdog = setTimeout(
      () => {
        console.error(`soak: the watchdog ended the run of seed ${settings.seed} (M + 5 minutes)`);
        killChildrenNow();
        process.exit(3);
      },
      (settings.minutes + 5) * 60_000,
    );
    watchdog.unref();
    const report = await runSeed(settings, handle);
    clearTimeout(watchdog);
    reports.push(report);
    const found = VIOLATION_KINDS.filter((k) => report.violations[k] > 0);
    if (found.length === 0) console.log(`soak: no violation (seed ${settings.seed})`);
    else if (choice !== 'regressions') {
      const commit = gitHead()?.trim().slice(0, 12);
      const day = startedAt.slice(0, 10);
      if (keepRegression({ ...settings, failedWith: found, found: day, ...(commit ? { commit } : {}) }))
        console.error(`soak: seed ${settings.seed} kept as a regression case in test/soak/regressions.json`);
    }
  }

  const command = `npm run soak${argv ? ` -- ${argv}` : ''}`;
  const written = writeReport(out, choice, reports, { command, startedAt, origin });
  console.log(`\nsoak: report in ${written.join(' and ')}`);
  const failed = reports.filter((r) => VIOLATION_KINDS.some((k) => r.violations[k] > 0));
  for (const r of reports)
    console.log(`soak: seed ${r.seed}: ${failed.includes(r) ? 'FAILED' : 'passed'}; replay with: ${r.command}`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    killChildrenNow();
    process.exit(2);
  },
);
