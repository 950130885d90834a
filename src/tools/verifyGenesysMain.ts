import 'dotenv/config';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fixturesOf } from './verifyFixtures';
import { formatReport, verifyGenesys } from './verifyGenesys';
import type { VerifyReport } from './verifyRun';
import { grantFromEnv } from './verifySignIn';
import { verifyTargets } from './verifyTargets';

/**
 * npm run verify:genesys [-- --json] [-- --record <dir>] [-- --deployment <name>]
 * Reads the service's own environment (.env included): with DEPLOYMENTS_FILE, each deployment of the file in turn
 * (or the one named), the file read as the service reads it; else the single-deployment variables. Exits 0 when
 * every run reached the Guest API, whatever it found; 2 when one could not run.
 */
async function main(): Promise<number> {
  const cannot = (problems: string[]) => {
    console.error(`verify:genesys cannot run:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 2;
  };
  let options: { json?: boolean; record?: string; deployment?: string };
  try {
    options = parseArgs({
      args: process.argv.slice(2),
      options: { json: { type: 'boolean' }, record: { type: 'string' }, deployment: { type: 'string' } },
    }).values;
  } catch (error) {
    return cannot([`${(error as Error).message} (options: --json, --record <dir>, --deployment <name>)`]);
  }
  const chosen = await verifyTargets(process.env, options.deployment);
  if ('problems' in chosen) return cannot(chosen.problems);
  const signIn = grantFromEnv(process.env);
  if (signIn && chosen.targets.length > 1) {
    return cannot([
      "VERIFY_SIGN_IN_* is a sign-in from one deployment's identity provider: name that deployment with --deployment",
    ]);
  }
  const fromFile = Boolean(process.env.DEPLOYMENTS_FILE?.trim());
  const reports: VerifyReport[] = [];
  for (const target of chosen.targets) {
    const report = await verifyGenesys(target, {
      signIn,
      agentFilePrompt: process.env.VERIFY_AGENT_FILE_PROMPT || undefined,
    });
    reports.push(report);
    if (!options.json) console.log(formatReport(report));
    if (options.record !== undefined) {
      // With a deployments file each deployment's fixtures go to a folder named after it.
      const dir = fromFile ? path.join(options.record, target.name) : options.record;
      const { rest, frames } = fixturesOf(report);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'verify-rest.json'), `${JSON.stringify(rest, null, 2)}\n`);
      writeFileSync(path.join(dir, 'verify-frames.json'), `${JSON.stringify(frames, null, 2)}\n`);
      if (!options.json)
        console.log(
          `Scrubbed fixtures written to ${dir} (verify-rest.json for nock, verify-frames.json for the socket).`,
        );
    }
  }
  if (options.json) {
    const deployments = reports.map(({ target, findings }) => ({ target, findings }));
    console.log(JSON.stringify({ deployments }, null, 2));
  }
  const unreached = reports
    .filter(
      (r) => !r.findings.some((f) => f.point === 'configureSession' || f.point === 'SessionResponse carries tracingId'),
    )
    .map((r) => r.target.name);
  if (unreached.length > 0) console.error(`verify:genesys did not reach the Guest API of: ${unreached.join(', ')}`);
  return unreached.length > 0 ? 2 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`verify:genesys failed: ${(error as Error).message}`);
    process.exit(2);
  },
);
