import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { debianProgram, requireRoot } from './programs';
import { waitFor } from './wait';

/**
 * What test/deploy/containerReadme.test.ts needs to run the container commands
 * of docs/deployment.md as a user pastes them, on a machine with podman and no Docker
 * engine: the commands themselves, read from that page; a copy of the project
 * to run them in; a network namespace of the run's own, where the Genesys
 * simulator listens on 127.0.0.1 and the containers join it
 * (test/deploy/docker-shim); a shell with that `docker` first on PATH; probes
 * from inside the namespace; and a cleanup that removes everything the run made.
 */
export const ROOT = path.resolve(__dirname, '../..');
const SHIM_DIR = path.join(ROOT, 'test/deploy/docker-shim');
const run = promisify(execFile);

/** The commands of docs/deployment.md's "## Container" and "## Docker Compose" sections; throws when one is missing. */
export function readmeContainerCommands(page: string): {
  container: string[];
  compose: string[];
  demo: string;
  image: string;
} {
  const section = (heading: string): string => {
    const start = page.indexOf(`\n${heading}\n`);
    if (start < 0) throw new Error(`docs/deployment.md has no "${heading}" section`);
    const rest = page.slice(start + heading.length + 2);
    const end = rest.search(/\n#{1,3} /);
    return end < 0 ? rest : rest.slice(0, end);
  };
  const firstShellBlock = (heading: string): string[] => {
    const block = /```sh\n([\s\S]*?)```/.exec(section(heading))?.[1];
    if (!block) throw new Error(`docs/deployment.md's "${heading}" section has no sh block`);
    return block.split('\n').filter((line) => line.trim() !== '');
  };
  const container = firstShellBlock('## Container');
  const compose = firstShellBlock('## Docker Compose');
  const demo = /`(docker compose -f docker-compose\.demo\.yml [^`]+)`/.exec(section('## Docker Compose'))?.[1];
  if (!demo) throw new Error('docs/deployment.md\'s "## Docker Compose" section no longer names the demo command');
  const image = /^docker build (?:.* )?-t (\S+) /m.exec(container.join('\n'))?.[1];
  if (!image) throw new Error('docs/deployment.md\'s "## Container" block has no `docker build -t <image>`');
  return { container, compose, demo, image };
}

/** `.env.example` as a user fills it in for the simulator: each value set on its line, commented-out ones uncommented. */
export function fillEnv(example: string, values: Record<string, string>): string {
  let text = example;
  for (const [name, value] of Object.entries(values)) {
    const line = new RegExp(`^(?:#\\s*)?${name}=.*$`, 'm');
    if (!line.test(text)) throw new Error(`.env.example does not document ${name}`);
    text = text.replace(line, `${name}=${value}`);
  }
  return text;
}

/** A command of the README, run by bash in the project copy, in a process group of its own. */
export interface Command {
  readonly line: string;
  output(): string;
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>;
  running(): boolean;
  signal(signal: NodeJS.Signals): void;
}

export interface ContainerRun {
  readonly id: string;
  readonly projectDir: string;
  /** The Genesys environment the simulator printed, as `npm run sim` prints it. */
  readonly simulatorEnv: Record<string, string>;
  /** `line` in the project copy; `env` adds to the run's environment, as a user's shell variables would. */
  shell(line: string, env?: Record<string, string>): Command;
  /** GET from inside the run's network namespace, where the containers listen. */
  probe(url: string): Promise<{ status?: number; body?: string; error?: string }>;
  podman(...args: string[]): Promise<string>;
  /** The run's containers, by name, with their state. */
  containers(): Promise<{ Names: string[]; State: string; Id: string }[]>;
  /** After a test: its commands killed and its containers removed, so that nothing still serves a port for the next. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

function spawnCommand(line: string, cwd: string, env: NodeJS.ProcessEnv): Command {
  const child = spawn('bash', ['-c', line], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    line,
    output: () => output,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
    },
  };
}

/** What .gitignore leaves out, for a copy of the project that is not a git checkout (a downloaded archive). */
const NEVER_COPIED = new Set([
  'node_modules',
  '.git',
  '.next',
  'dist',
  'coverage',
  'test-output',
  'reports',
  '.stryker-tmp',
  '.env',
]);

/**
 * The project as a clone has it, plus uncommitted work: tracked and untracked files that git does not
 * ignore. Where git is missing or this is no checkout, the tree without what .gitignore names.
 */
function copyProject(to: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (listed.status !== 0) {
    fs.cpSync(ROOT, to, { recursive: true, filter: (source) => !NEVER_COPIED.has(path.basename(source)) });
    return;
  }
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const source = path.join(ROOT, file);
    if (!fs.existsSync(source)) continue; // deleted, not yet committed
    fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    fs.copyFileSync(source, path.join(to, file));
    fs.chmodSync(path.join(to, file), fs.statSync(source).mode);
  }
}

/** A network namespace held by a bounded `sleep`, with its loopback up. */
async function holdNetworkNamespace(ip: string): Promise<ChildProcess> {
  const holder = spawn('unshare', ['--net', 'sleep', '3600'], { stdio: 'ignore' });
  await waitFor(
    () => fs.readlinkSync(`/proc/${holder.pid}/ns/net`) !== fs.readlinkSync('/proc/self/ns/net'),
    10_000,
    20,
  );
  await run('nsenter', [`--net=/proc/${holder.pid}/ns/net`, ip, 'link', 'set', 'lo', 'up']);
  return holder;
}

/** The simulator inside the namespace, on 127.0.0.1, started like `npm run sim`; resolves with the environment it prints. */
async function startSimulator(netns: string): Promise<{ child: ChildProcess; env: Record<string, string> }> {
  // Bounded by `timeout`, like the namespace's holder, should the test process die before its cleanup.
  const child = spawn(
    'timeout',
    ['3600', 'nsenter', `--net=${netns}`, path.join(ROOT, 'node_modules/.bin/tsx'), 'simulator/main.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, SIM_PORT: '0' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let printed = '';
  child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the simulator exited: ${printed}`);
      return /^SESSION_SECRET=/m.test(printed);
    },
    60_000,
    50,
  );
  const env = Object.fromEntries([...printed.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { child, env };
}

const PROBE = `fetch(process.argv[1], { signal: AbortSignal.timeout(10000) }).then(
  async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })),
  (e) => process.stdout.write(JSON.stringify({ error: String(e.cause ?? e) })))`;

/** The cleanup of everything carrying the run's id; each step goes on when the one before fails. */
async function removeRunArtifacts(
  id: string,
  image: string,
  project: string,
  podman: (...args: string[]) => Promise<string>,
): Promise<void> {
  const lines = async (...args: string[]) => (await podman(...args).catch(() => '')).split('\n').filter(Boolean);
  const containers = await lines('ps', '-aq', '--filter', `label=bff-readme-run=${id}`);
  if (containers.length > 0) await podman('rm', '-f', '-t', '0', ...containers).catch(() => undefined);
  // The images this run tagged; the layers under them stay as the build cache for the next run.
  const images = await lines(
    'images',
    '--format',
    '{{.Repository}}:{{.Tag}}',
    '--filter',
    `reference=localhost/${image}-${id}`,
  );
  if (images.length > 0) await podman('rmi', '--no-prune', '-f', ...images).catch(() => undefined);
  const networks = await lines('network', 'ls', '-q', '--filter', `label=io.podman.compose.project=${project}`);
  if (networks.length > 0) await podman('network', 'rm', '-f', ...networks).catch(() => undefined);
}

/**
 * Builds the stand-in base image when missing (once per machine), copies the
 * project, starts the namespace and the simulator. `image` is the README's
 * image name, which the shim gives the run's id as a suffix.
 */
export async function startContainerRun(image: string): Promise<ContainerRun> {
  requireRoot('the README container test runs rootful podman');
  const [podmanBinary, runc, ip] = [debianProgram('podman'), debianProgram('runc'), debianProgram('iproute2')];
  const podman = async (...args: string[]) =>
    (await run(podmanBinary, ['--runtime', runc, ...args], { maxBuffer: 16 << 20 })).stdout;
  await run('bash', [path.join(ROOT, 'scripts/node-image-standin.sh'), path.join(ROOT, 'Dockerfile')], {
    timeout: 900_000,
  }).catch((error: { stderr?: string }) => {
    throw new Error(`scripts/node-image-standin.sh failed: ${error.stderr ?? String(error)}`);
  });

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-readme-'));
  const id = path
    .basename(base)
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase();
  // The folder's name is the compose project's: unique, so are the containers it names.
  const projectDir = path.join(base, id);
  const project = id;
  copyProject(projectDir);
  const holder = await holdNetworkNamespace(ip);
  const netns = `/proc/${holder.pid}/ns/net`;
  const simulator = await startSimulator(netns).catch((error: unknown) => {
    holder.kill();
    throw error;
  });
  const env = {
    ...process.env,
    PATH: `${SHIM_DIR}:${process.env.PATH}`,
    BFF_README_NETNS: netns,
    BFF_README_RUN: id,
    BFF_README_IMAGE: image,
  };
  const commands: Command[] = [];
  return {
    id,
    projectDir,
    simulatorEnv: simulator.env,
    shell(line, extra = {}) {
      const command = spawnCommand(line, projectDir, { ...env, ...extra });
      commands.push(command);
      return command;
    },
    async probe(url) {
      const { stdout } = await run('nsenter', [`--net=${netns}`, process.execPath, '-e', PROBE, url], {
        timeout: 30_000,
      });
      return JSON.parse(stdout) as { status?: number; body?: string; error?: string };
    },
    podman,
    async containers() {
      return JSON.parse(await podman('ps', '-a', '--format', 'json', '--filter', `label=bff-readme-run=${id}`)) as {
        Names: string[];
        State: string;
        Id: string;
      }[];
    },
    async reset() {
      for (const command of commands.splice(0)) command.signal('SIGKILL');
      const containers = (await podman('ps', '-aq', '--filter', `label=bff-readme-run=${id}`))
        .split('\n')
        .filter(Boolean);
      if (containers.length > 0) await podman('rm', '-f', '-t', '0', ...containers);
    },
    async close() {
      for (const command of commands) command.signal('SIGKILL');
      await removeRunArtifacts(id, image, project, podman);
      if (simulator.child.exitCode === null) process.kill(-simulator.child.pid!, 'SIGTERM');
      holder.kill();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
