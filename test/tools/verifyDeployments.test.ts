import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { loadDeploymentsFile } from '../../src/config/deploymentsFile';
import type { Finding } from '../../src/tools/verifyRun';

/**
 * `npm run verify:genesys` with DEPLOYMENTS_FILE: each deployment of the file checked in turn against its own strict
 * simulator, or the one named; the file read by the service's loader, so a bad file is refused with its problems.
 *
 * @lane full — runs the verify:genesys tool as its own process three times, a full run per deployment (about 40 s)
 */
const run = promisify(execFile);
const cli = path.join(__dirname, '../../src/tools/verifyGenesysMain.ts');
const tsx = path.join(__dirname, '../../node_modules/.bin/tsx');

let shop: Simulator;
let clinic: Simulator;
let dir: string;
let file: string;

/** An entry for `sim`, reading availability of its queue, schedule group and emergency group. */
const entryFor = (sim: Simulator, name: string, origin: string) => ({
  ...deploymentEntryFor(sim, name, [origin]),
  availability: {
    queueIds: [sim.availability.ids.queueId],
    scheduleGroupId: sim.availability.ids.scheduleGroupId,
    emergencyGroupId: sim.availability.ids.emergencyGroupId,
  },
});

beforeAll(async () => {
  shop = await startSimulator({ profile: 'strict', autoStart: true, agent: { enabled: false } });
  clinic = await startSimulator({
    profile: 'strict',
    autoStart: true,
    agent: { enabled: false },
    deploymentId: '0f1e2d3c-4b5a-4697-8877-665544332211',
    clientId: 'clinic-client',
    clientSecret: 'clinic-secret',
  });
  // The clinic is on holiday now, in its group's zone; the shop keeps the simulator's hours (open around the clock).
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const local = (h: number) => new Date(hour + h * 3_600_000).toISOString().slice(0, 23);
  clinic.availability.setSchedules({
    timeZone: 'UTC',
    open: [
      { name: 'Every day', start: '2024-01-01T08:00:00.000', end: '2024-01-01T20:00:00.000', rrule: 'FREQ=DAILY' },
    ],
    holiday: [{ name: 'Inventory day', start: local(-2), end: local(22) }],
  });
  clinic.availability.setPredictions([
    { intent: 'CALL', formula: 'BEST', estimatedWaitTimeSeconds: 20 },
    { intent: 'MESSAGE', formula: 'PATIENCE_ABANDON', estimatedWaitTimeSeconds: 90 },
  ]);
  dir = mkdtempSync(path.join(tmpdir(), 'verify-deployments-'));
  file = path.join(dir, 'deployments.json');
  writeFileSync(
    file,
    JSON.stringify({
      deployments: [
        entryFor(shop, 'shop', 'https://shop.example'),
        entryFor(clinic, 'clinic', 'https://clinic.example'),
      ],
    }),
  );
});
afterAll(async () => {
  await Promise.all([shop?.stop(), clinic?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const envWith = (deploymentsFile: string) => ({
  PATH: process.env.PATH,
  DEPLOYMENTS_FILE: deploymentsFile,
  GENESYS_TIMEOUT_MS: '3000',
});

type Report = { target: { name: string; deploymentId: string }; findings: Finding[] };
const observed = (report: Report, point: string) => report.findings.find((f) => f.point === point)?.observed;

test('every deployment of the file is checked in turn, its findings under its name, and recorded apart', async () => {
  const record = path.join(dir, 'fixtures');
  const { stdout } = await run(tsx, [cli, '--json', '--record', record], { env: envWith(file), cwd: tmpdir() });
  const { deployments } = JSON.parse(stdout) as { deployments: Report[] };
  expect(deployments.map((d) => [d.target.name, d.target.deploymentId])).toEqual([
    ['shop', shop.deploymentId],
    ['clinic', clinic.deploymentId],
  ]);
  const [shopReport, clinicReport] = deployments as [Report, Report];
  for (const report of deployments) {
    // The strict simulator says Delivered of each guest message (its agent is off, so nobody reads).
    expect(observed(report, 'receipts Genesys sends a guest')).toBe('Delivered');
    expect(observed(report, 'availability: observation grouping')).toMatch(/mediaType message\}: oOnQueueUsers/);
  }
  expect(observed(shopReport, 'availability: schedule now')).toBe(
    'open in Europe/Berlin: open schedule 1 "Around the clock" holds now; no closing within a year (closesAt null)',
  );
  expect(observed(clinicReport, 'availability: schedule now')).toMatch(
    /^holiday in UTC: holiday schedule 1 "Inventory day" holds now; opens /,
  );
  expect(observed(clinicReport, "availability: the service's answer now")).toMatch(/^open false \(reason holiday\);/);
  expect(observed(shopReport, `availability: predictions (queue ${shop.availability.ids.queueId})`)).toBe(
    'BEST MESSAGE 45 s (shown), SIMPLE MESSAGE 150 s, PATIENCE_ABANDON MESSAGE 23 s, POSITION-IN-QUEUE MESSAGE 75 s; ' +
      'the service shows BEST',
  );
  expect(observed(clinicReport, `availability: predictions (queue ${clinic.availability.ids.queueId})`)).toBe(
    'BEST CALL 20 s, PATIENCE_ABANDON MESSAGE 90 s (shown); the service shows PATIENCE_ABANDON',
  );
  for (const name of ['shop', 'clinic']) {
    const rest = readFileSync(path.join(record, name, 'verify-rest.json'), 'utf8');
    expect(rest).toContain('/api/v2/architect/schedules/');
    expect(rest).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
  }
}, 120_000);

test('one deployment is checked by name, in the text report', async () => {
  const { stdout } = await run(tsx, [cli, '--deployment', 'clinic'], { env: envWith(file), cwd: tmpdir() });
  expect(stdout).toContain(`Deployment clinic: Genesys deployment ${clinic.deploymentId}`);
  expect(stdout).not.toContain('Deployment shop:');
  expect(stdout).toMatch(/ok +availability: schedule now\n\s+expected: .*\n\s+observed: holiday in UTC/);
  expect(stdout).toMatch(/ok +receipts Genesys sends a guest\n\s+expected: .*\n\s+observed: Delivered/);
}, 60_000);

test('an unknown name is refused with the names the file has, and exit 2', async () => {
  const refused = await run(tsx, [cli, '--deployment', 'pharmacy'], { env: envWith(file), cwd: tmpdir() }).catch(
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  expect(refused).toMatchObject({
    code: 2,
    stdout: '',
    stderr: `verify:genesys cannot run:\n  - --deployment pharmacy: ${file} has no deployment of that name (it has shop, clinic)\n`,
  });
}, 30_000);

test("a file the service would refuse is refused with the service's own problems, and exit 2", async () => {
  const bad = path.join(dir, 'bad.json');
  const entry = { ...entryFor(shop, 'shop', 'https://shop.example'), region: 'moon-base-1' };
  writeFileSync(bad, JSON.stringify({ deployments: [entry, { ...entry, name: 'shop', region: 'mypurecloud.com' }] }));
  const { problems } = (await loadDeploymentsFile(bad, {})) as { problems: string[] };
  expect(problems.length).toBeGreaterThanOrEqual(2);
  const refused = await run(tsx, [cli], { env: envWith(bad), cwd: tmpdir() }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(refused).toMatchObject({
    code: 2,
    stderr: `verify:genesys cannot run:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
  });
}, 30_000);

test('a deployment variable beside the file is refused as the service refuses it; a sign-in needs one deployment named', async () => {
  const beside = await run(tsx, [cli], {
    env: { ...envWith(file), GENESYS_REGION: 'mypurecloud.ie' },
    cwd: tmpdir(),
  }).catch((e: { code: number; stderr: string }) => e);
  expect(beside).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('GENESYS_REGION is set with DEPLOYMENTS_FILE'),
  });
  const signIn = { VERIFY_SIGN_IN_ID_TOKEN: 'a-token-from-the-idp', VERIFY_SIGN_IN_NONCE: 'a-nonce' };
  const both = await run(tsx, [cli], { env: { ...envWith(file), ...signIn }, cwd: tmpdir() }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(both).toMatchObject({ code: 2, stderr: expect.stringContaining('name that deployment with --deployment') });
}, 30_000);
