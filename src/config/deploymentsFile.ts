import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { deploymentsOf, type DeploymentsRead, type Naming } from './deploymentRules';
import { SECRET_KEYS } from './deploymentVariables';

/**
 * The deployments file (DEPLOYMENTS_FILE, docs/configuration.md#the-deployments-file): YAML or JSON listing each
 * Messenger deployment the service serves, checked by the rules every deployment is (deploymentRules.ts), every
 * problem reported at once with the file and the key it is at.
 *
 * It is read at start and again on SIGHUP while chats are served, so whatever is in it may cost this process only a
 * bounded effort: the file is read asynchronously and at most MAX_FILE_BYTES of it; the YAML is parsed in a worker
 * thread with a memory and time budget of its own (a deeply nested or alias-heavy file exhausts the worker, never
 * the process) and at most MAX_ALIASES aliases; a file that changes while it is read is refused.
 */

/** The largest deployments file read: some thousands of deployments. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Aliases (`*name`) resolved in one file: the YAML library's own default bound. */
export const MAX_ALIASES = 100;
/** How long parsing may take, and how much memory, before the file is refused. */
export const PARSE_TIMEOUT_MS = 5_000;
const PARSE_MEMORY_MB = 64;

/** What `readDeploymentsFile` gives: the file's text, or why it could not be read. */
export type FileText = { text: string } | { problems: string[] };

/** What reading the file also learns: the variables it names as holding its secrets. */
export type DeploymentsFileRead = DeploymentsRead & { variablesRead: string[] };

interface FileSystem {
  open(path: string): Promise<fs.promises.FileHandle>;
  stat(path: string): Promise<fs.Stats>;
}

/** Opened without blocking: a FIFO put where the file was is refused at once, never waited on for a writer. */
const realFiles: FileSystem = {
  open: (p) => fs.promises.open(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK),
  stat: (p) => fs.promises.stat(p),
};

/**
 * The text of `file` (relative to the working directory), read without blocking: refused when it is not a regular
 * file, is larger than MAX_FILE_BYTES, or changed while it was read (its size, time or inode differ after the read
 * from before it), so a file half written is never served. `files` and `duringRead` are seams for tests.
 */
export async function readDeploymentsFile(
  file: string,
  files: FileSystem = realFiles,
  duringRead?: () => Promise<void>,
): Promise<FileText> {
  const refused = (why: string): FileText => ({ problems: [`DEPLOYMENTS_FILE: ${file}: ${why}`] });
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await files.open(file);
    const before = await handle.stat();
    if (!before.isFile()) return refused('is not a regular file');
    if (before.size > MAX_FILE_BYTES) return refused(tooLarge(before.size));
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_FILE_BYTES) return refused(tooLarge(length));
      await duringRead?.();
    }
    const [after, atPath] = await Promise.all([handle.stat(), files.stat(file)]);
    if (!sameFile(before, after) || !sameFile(before, atPath) || after.size !== length) {
      return refused('changed while it was read; it was not loaded. Send SIGHUP again once it is written.');
    }
    return { text: buffer.subarray(0, length).toString('utf8') };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return refused(`cannot be read (${code ?? message})`);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

const tooLarge = (bytes: number) =>
  `is ${bytes} bytes or more, more than the ${MAX_FILE_BYTES} bytes a deployments file may be`;

const sameFile = (a: fs.Stats, b: fs.Stats) =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

/** The worker's answer: the file as data, or its problems (each with a line and column where YAML gives one). */
type Parsed = { data: unknown } | { problems: string[] };

/** Runs in the worker (plain JavaScript: no loader of this process's is there). */
const PARSE_IN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { LineCounter, parseDocument } = require(workerData.yaml);
const lines = new LineCounter();
const at = (pos) => { const { line, col } = lines.linePos(pos); return 'line ' + line + ', column ' + col + ': '; };
let answer;
try {
  const document = parseDocument(workerData.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    answer = { problems: document.errors.map((e) => at(e.pos[0]) + (/call stack/i.test(e.message)
      ? 'nests deeper than a deployments file may' : e.message)) };
  } else {
    answer = { data: document.toJS({ maxAliasCount: workerData.maxAliases }) };
  }
} catch (error) {
  answer = { problems: [/alias/i.test(String(error && error.message))
    ? 'uses aliases (*name) more than ' + workerData.maxAliases + ' times; write the values out instead'
    : 'cannot be parsed: ' + String(error && error.message)] };
}
parentPort.postMessage(answer);
`;

/** The file's text as data (YAML, or JSON, which YAML reads too), parsed in a worker with a budget of its own. */
function parseInWorker(text: string, timeoutMs: number): Promise<Parsed> {
  return new Promise((resolve) => {
    const worker = new Worker(PARSE_IN_WORKER, {
      eval: true,
      workerData: { text, yaml: require.resolve('yaml'), maxAliases: MAX_ALIASES },
      resourceLimits: { maxOldGenerationSizeMb: PARSE_MEMORY_MB, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const settle = (parsed: Parsed) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(parsed);
    };
    const timer = setTimeout(
      () => settle({ problems: [`took longer than ${timeoutMs / 1000} s to parse; simplify it`] }),
      timeoutMs,
    );
    worker.once('message', (parsed: Parsed) => settle(parsed));
    worker.once('error', (error: NodeJS.ErrnoException) =>
      settle({
        problems: [
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? 'needs more memory to parse than a deployments file may; it nests too deep or repeats too much'
            : `cannot be parsed: ${error.message}`,
        ],
      }),
    );
    worker.once('exit', () => settle({ problems: ['cannot be parsed: the parser stopped'] }));
  });
}

type Raw = Record<string, unknown>;
const isObject = (value: unknown): value is Raw => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `deployments[0].origins[1]`: where an issue is, as the file's author finds it. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** A key as a message names it: its last part, and for a secret its `…Env` twin too. */
function keyNamed(key: string): string {
  const last = key.split('.').pop()!;
  return SECRET_KEYS.has(key) ? `${last} or ${last}Env` : last;
}

function fileNaming(file: string): Naming {
  return {
    problem: (index, path, message) => `${file}: ${keyPath(['deployments', index, ...path])}: ${message}`,
    key: keyNamed,
    settings: (deployment, keys) => `${keys.map(keyNamed).join(' and ')} of deployment "${deployment}"`,
  };
}

/** What is wrong with the file's top level: it holds `deployments:`, a list of at least one, and nothing else. */
function topProblems(data: unknown): string[] {
  if (!isObject(data)) return ['must be a mapping with `deployments:`, the list of deployments'];
  const what = 'the deployments, each with name, region, deploymentId and origins';
  const problems = Object.keys(data)
    .filter((key) => key !== 'deployments')
    .map((key) => `${key}: is not a key of a deployments file; only \`deployments:\` belongs at the top`);
  const { deployments } = data;
  if (deployments === undefined) problems.push(`deployments: is required: ${what}`);
  else if (!Array.isArray(deployments)) problems.push(`deployments: must be a list: ${what}`);
  else if (deployments.length === 0) problems.push('deployments: must list at least one deployment');
  return problems;
}

/** The variables the entries name as holding their secrets. */
function variablesNamed(entries: readonly unknown[]): string[] {
  return entries.flatMap((raw) => {
    const { clientSecretEnv, identity, webhooks } = isObject(raw) ? raw : {};
    const { jwtSecretEnv } = isObject(identity) ? identity : {};
    const hooks = Array.isArray(webhooks) ? webhooks.map((w: unknown) => (isObject(w) ? w.secretEnv : undefined)) : [];
    return [clientSecretEnv, jwtSecretEnv, ...hooks]
      .filter((v): v is string => typeof v === 'string')
      .map((v) => v.trim());
  });
}

/**
 * The deployments in a deployments file's text, or every problem with it, each as `file: key: what is wrong`.
 * Secrets given as a variable's name are read from `env`. `parseTimeoutMs` is a seam for tests.
 */
export async function parseDeploymentsFile(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  parseTimeoutMs = PARSE_TIMEOUT_MS,
): Promise<DeploymentsFileRead> {
  const parsed = await parseInWorker(text, parseTimeoutMs);
  if ('problems' in parsed) return { problems: parsed.problems.map((p) => `${file}: ${p}`), variablesRead: [] };
  const { data } = parsed;
  if (data === null || data === undefined)
    return {
      problems: [`${file}: is empty; it must hold \`deployments:\`, a list of at least one deployment`],
      variablesRead: [],
    };
  const top = topProblems(data);
  if (top.length > 0) return { problems: top.map((p) => `${file}: ${p}`), variablesRead: [] };
  const entries = (data as { deployments: unknown[] }).deployments;
  return { ...deploymentsOf(entries, env, fileNaming(file)), variablesRead: variablesNamed(entries) };
}

/** Reads and parses DEPLOYMENTS_FILE: its deployments, or every problem with it. */
export async function loadDeploymentsFile(file: string, env: NodeJS.ProcessEnv): Promise<DeploymentsFileRead> {
  const read = await readDeploymentsFile(file);
  if ('problems' in read) return { ...read, variablesRead: [] };
  return parseDeploymentsFile(read.text, file, env);
}
