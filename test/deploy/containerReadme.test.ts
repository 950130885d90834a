import fs from 'node:fs';
import path from 'node:path';
import {
  fillEnv,
  readmeContainerCommands,
  ROOT,
  startContainerRun,
  type Command,
  type ContainerRun,
} from '../support/containerReadme';
import { freePort } from '../support/ports';
import { sleep } from '../support/wait';

/**
 * docs/deployment.md's commands, run as a user pastes them: the
 * `## Container` block, the `## Docker Compose` block and the demo's
 * `docker compose -f docker-compose.demo.yml up --build`, found by their
 * place in that page (a page without them fails here). `docker` is podman
 * and `docker compose` Debian's podman-compose (test/deploy/docker-shim); the
 * base image is a local stand-in of node:22-bookworm-slim with this machine's
 * Node (scripts/node-image-standin.sh). The containers share a network
 * namespace of this run's own with the Genesys simulator, which `.env`
 * (`.env.example` filled in) points at.
 *
 * Bounds: the first build on a cold machine compiles everything (minutes);
 * later runs reuse podman's layer cache. No verdict depends on how long
 * anything took: exit codes, answers and the health status decide.
 *
 * @needs root podman runc podman-compose debootstrap iproute2
 */
jest.setTimeout(30 * 60_000);
const BUILD_BOUND_MS = 20 * 60_000;
const STEP_BOUND_MS = 3 * 60_000;
const deployment = fs.readFileSync(path.join(ROOT, 'docs/deployment.md'), 'utf8');
const commands = readmeContainerCommands(deployment);
const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');

let run: ContainerRun | undefined;
beforeAll(async () => {
  run = await startContainerRun(commands.image);
}, BUILD_BOUND_MS);
afterEach(async () => {
  await run?.reset();
}, STEP_BOUND_MS);
afterAll(async () => {
  await run?.close();
}, STEP_BOUND_MS);

const tail = (command: Command) => command.output().slice(-6000);

async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)));
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `line` until it exits (it must exit 0) or, still running, serves `url` with 200: then it is the service. */
async function runUntilExitOrServing(
  line: string,
  url: string,
  env?: Record<string, string>,
): Promise<{ command: Command; serving: boolean }> {
  const command = run!.shell(line, env);
  const deadline = Date.now() + BUILD_BOUND_MS;
  while (Date.now() < deadline) {
    if (!command.running()) {
      const code = await command.exited;
      if (code !== 0) throw new Error(`\`${line}\` exited ${code}:\n${tail(command)}`);
      return { command, serving: false };
    }
    if ((await run!.probe(url)).status === 200) return { command, serving: true };
    await sleep(2000);
  }
  throw new Error(`\`${line}\` neither finished nor served ${url} within the bound:\n${tail(command)}`);
}

async function runToEnd(line: string): Promise<Command> {
  const command = run!.shell(line);
  const code = await within(command.exited, BUILD_BOUND_MS, () => `\`${line}\` did not finish:\n${tail(command)}`);
  if (code !== 0) throw new Error(`\`${line}\` exited ${code}:\n${tail(command)}`);
  return command;
}

async function answer(url: string, status = 200): Promise<string> {
  const deadline = Date.now() + STEP_BOUND_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await run!.probe(url);
    if ((last as { status?: number }).status === status) return (last as { body: string }).body;
    await sleep(1000);
  }
  throw new Error(`${url} did not answer ${status}: ${JSON.stringify(last)}`);
}

/** The user and command line of the container's PID 1 (docs/deployment.md: `node dist/src/main.js` as the node user). */
async function mainProcess(id: string): Promise<{ uid: string; command: string }> {
  const status = await run!.podman('exec', id, 'cat', '/proc/1/status');
  const cmdline = await run!.podman('exec', id, 'cat', '/proc/1/cmdline');
  return { uid: /^Uid:\s+(\d+)/m.exec(status)?.[1] ?? '?', command: cmdline.split('\0').filter(Boolean).join(' ') };
}

/**
 * The container's health status once its health check has run, as the
 * scheduler would run it (podman schedules checks through systemd, absent
 * here). A failing check within the start period leaves it `starting`, so it
 * runs a few times; each run is the container's own check command.
 */
async function healthAfterChecks(id: string): Promise<string> {
  let health = { Status: 'none', Log: [] as { Output: string }[] };
  for (let attempt = 0; attempt < 6 && health.Status !== 'healthy'; attempt++) {
    if (attempt > 0) await sleep(2000);
    await run!.podman('healthcheck', 'run', id).catch(() => undefined); // an unhealthy verdict exits 1
    health = JSON.parse(await run!.podman('inspect', id, '--format', '{{json .State.Health}}')) as typeof health;
  }
  return health.Status === 'healthy' ? 'healthy' : `${health.Status}: ${health.Log.at(-1)?.Output ?? ''}`;
}

async function onlyRunningContainer(): Promise<string> {
  const running = (await run!.containers()).filter((c) => c.State === 'running');
  expect(running).toHaveLength(1);
  return running[0]!.Id;
}

/** The service is ready: every readiness check passed against the simulator named in `.env`. */
async function expectReadyAgainstSimulator(service = 'http://127.0.0.1:8080'): Promise<void> {
  const ready = JSON.parse(await answer(`${service}/readyz`)) as {
    status: string;
    checks: Record<string, { ok: boolean }>;
  };
  expect(ready.status).toBe('ready');
  expect(Object.entries(ready.checks).filter(([, check]) => !check.ok)).toEqual([]);
  expect(Object.keys(ready.checks)).toEqual(expect.arrayContaining(['token', 'deployment', 'guestApi']));
}

test('the demo: `docker compose -f docker-compose.demo.yml up --build` with no .env serves the page on DEMO_PORT and the service on PORT; Ctrl+C stops it with exit 0', async () => {
  expect(fs.existsSync(path.join(run!.projectDir, '.env'))).toBe(false);
  // The page's command with the ports moved, as a user whose 3000 and 8080 are taken would (free ones, chosen now).
  const [port, demoPort] = [await freePort(), await freePort()];
  const service = `http://127.0.0.1:${port}`;
  const { command, serving } = await runUntilExitOrServing(commands.demo, `${service}/healthz`, {
    PORT: String(port),
    DEMO_PORT: String(demoPort),
  });
  expect(serving).toBe(true);
  const page = await answer(`http://127.0.0.1:${demoPort}/`);
  expect(page).toMatch(new RegExp(`<meta name="bff-url" content="http://(localhost|127\\.0\\.0\\.1):${port}">`));
  // The embedded default: ready against its own simulator, inside the image.
  await expectReadyAgainstSimulator(service);
  const id = await onlyRunningContainer();
  expect(await mainProcess(id)).toEqual({ uid: '1000', command: 'node dist/src/main.js' });
  expect(await healthAfterChecks(id)).toBe('healthy');

  command.signal('SIGINT'); // Ctrl+C in the terminal reaches the whole foreground process group
  await within(command.exited, STEP_BOUND_MS, () => `Ctrl+C did not end \`${commands.demo}\`:\n${tail(command)}`);
  expect(await run!.podman('inspect', id, '--format', '{{.State.Running}} {{.State.ExitCode}}')).toBe('false 0\n');
});

test('## Container: the image builds, and `docker run` answers /healthz and /readyz on 8080 as uid 1000, is healthy, and exits 0 on SIGTERM', async () => {
  // The section presumes a configured .env ("The container needs a complete configuration").
  fs.writeFileSync(path.join(run!.projectDir, '.env'), fillEnv(example, run!.simulatorEnv));
  let service: Command | undefined;
  for (const [index, line] of commands.container.entries()) {
    const started = await runUntilExitOrServing(line, 'http://127.0.0.1:8080/healthz');
    if (!started.serving) continue;
    expect(index).toBe(commands.container.length - 1); // a foreground service ends the block
    service = started.command;
  }
  if (!service)
    throw new Error(
      `no command of the Container block served http://127.0.0.1:8080/healthz: ${commands.container.join(' / ')}`,
    );
  await expectReadyAgainstSimulator();
  const id = await onlyRunningContainer();
  expect(await mainProcess(id)).toEqual({ uid: '1000', command: 'node dist/src/main.js' });
  expect(await healthAfterChecks(id)).toBe('healthy'); // the image's own HEALTHCHECK

  // `docker stop`: SIGTERM, then SIGKILL after its default 10 s. Exit 0 means the service stopped on its own.
  await run!.podman('stop', '--time', '10', id);
  expect(await within(service.exited, STEP_BOUND_MS, () => `docker run did not end:\n${tail(service!)}`)).toBe(0);
  expect(tail(service)).toMatch(/"msg":"stopped"/);
  for (let i = 0; i < 30 && (await run!.containers()).some((c) => c.Id === id); i++) await sleep(1000);
  expect((await run!.containers()).map((c) => c.Id)).not.toContain(id); // --rm
});

test('## Docker Compose: `cp .env.example .env`, filled in, then `up --build -d`: `docker compose ps` shows the service healthy, on 8080 whatever .env says', async () => {
  const envFile = path.join(run!.projectDir, '.env');
  fs.rmSync(envFile, { force: true });
  const outputs: string[] = [];
  for (const line of commands.compose) {
    if (/\bdocker compose ps\b/.test(line)) {
      // By the time a user looks, the scheduler has run the compose file's health check.
      await answer('http://127.0.0.1:8080/healthz');
      expect(await healthAfterChecks(await onlyRunningContainer())).toBe('healthy');
    }
    outputs.push((await runToEnd(line)).output());
    // "fill it in", as the comment on `cp` asks; PORT as a user's local .env may have it.
    if (fs.existsSync(envFile) && fs.readFileSync(envFile, 'utf8') === example) {
      fs.writeFileSync(envFile, fillEnv(example, { ...run!.simulatorEnv, PORT: '3999' }));
    }
  }
  expect(fs.readFileSync(envFile, 'utf8')).toContain('PORT=3999');
  const id = await onlyRunningContainer();
  const shown = outputs
    .join('\n')
    .split('\n')
    .filter((l) => l.startsWith(id.slice(0, 12)));
  expect(shown.at(-1)).toMatch(/\(healthy\)/);
  await expectReadyAgainstSimulator();
  expect(await mainProcess(id)).toEqual({ uid: '1000', command: 'node dist/src/main.js' });
  // The compose file's 20 s stop grace (podman-compose 1.0.3 does not pass stop_grace_period on).
  await run!.podman('stop', '--time', '20', id);
  expect(await run!.podman('inspect', id, '--format', '{{.State.ExitCode}}')).toBe('0\n');
});
