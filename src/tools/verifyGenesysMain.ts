import 'dotenv/config';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesOf } from './verifyFixtures';
import { formatReport, targetFromEnv, verifyGenesys } from './verifyGenesys';
import { grantFromEnv } from './verifySignIn';

/**
 * npm run verify:genesys [-- --json] [-- --record <dir>]
 * Reads the service's own environment (.env included). Exits 0 when the run
 * completed, whatever it found; 2 when it could not run.
 */
async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const target = targetFromEnv(process.env);
  if (Array.isArray(target)) {
    console.error(`verify:genesys cannot run:\n${target.map((p) => `  - ${p}`).join('\n')}`);
    return 2;
  }
  const report = await verifyGenesys(target, {
    signIn: grantFromEnv(process.env),
    agentFilePrompt: process.env.VERIFY_AGENT_FILE_PROMPT || undefined,
  });
  if (args.includes('--json'))
    console.log(JSON.stringify({ target: report.target, findings: report.findings }, null, 2));
  else console.log(formatReport(report));
  const recordAt = args.indexOf('--record');
  if (recordAt >= 0) {
    const dir = args[recordAt + 1];
    if (!dir) {
      console.error('--record needs a directory');
      return 2;
    }
    const { rest, frames } = fixturesOf(report);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'verify-rest.json'), `${JSON.stringify(rest, null, 2)}\n`);
    writeFileSync(path.join(dir, 'verify-frames.json'), `${JSON.stringify(frames, null, 2)}\n`);
    console.log(`Scrubbed fixtures written to ${dir} (verify-rest.json for nock, verify-frames.json for the socket).`);
  }
  const reached = report.findings.some(
    (f) => f.point === 'configureSession' || f.point === 'SessionResponse carries tracingId',
  );
  return reached ? 0 : 2;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`verify:genesys failed: ${(error as Error).message}`);
    process.exit(2);
  },
);
