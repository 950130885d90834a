import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { generateVAPIDKeys } from 'web-push';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Simulator } from '../../simulator';
import { ConfigError, isUnconfigured } from '../config/schema';
import { DEPLOYMENT_VARIABLES } from '../config/deploymentVariables';
import { DEMO_AVAILABILITY_STATES, demoVariables } from '../config/variables';
import { startDemoServer, type DemoServer } from './demoServer';

/**
 * The embedded default (README.md#configuration): with no Genesys configuration at all,
 * outside production, `npm start` runs the service against a local Genesys
 * simulator and serves the demo chat page on a second port, so that a new
 * user sees a working chat within a minute. The simulator is imported only
 * here, and only then: a production process never loads it (and the
 * production image does not even contain it).
 */

const DEFAULT_DEMO_PORT = 3000;
/** The second simulator's deployment (DEMO_DEPLOYMENTS=2). */
const SECOND_DEPLOYMENT_ID = '2b7e151a-628a-4d2b-9e3c-4f5a6b7c8d9e';
const SECOND_GREETING =
  'Hello from the second deployment of the same install, with its own simulator. ' +
  'It takes PDF files only, and has sign-in off.';
const DEFAULT_SERVICE_PORT = 8080;

const GREETING =
  'Hello! I am the local Genesys simulator’s scripted bot. Write anything and I will echo it; ' +
  'try “quick replies”, “card”, “date picker”, “send image”, “human” or “disconnect”.';

export interface EmbeddedDefault {
  /** The environment for loadConfig: the user's, pointed at the simulator, allowing the demo page's origins. */
  env: NodeJS.ProcessEnv;
  simulator: Simulator;
  demo: DemoServer;
  /** The page's origins on the service's CORS allowlist. */
  demoOrigins: string[];
  /** Tells the demo page where the service listens; returns the lines to print for the user. */
  serviceStarted(serviceUrl: string): string[];
  stop(): Promise<void>;
}

/** True when `npm start` should run the embedded default rather than report missing configuration. */
export function embeddedDefaultApplies(env: NodeJS.ProcessEnv): boolean {
  return isUnconfigured(env) && env.NODE_ENV?.trim() !== 'production';
}

/** The repository root (the folder holding package.json), from src/demo or dist/src/demo. */
function repositoryRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/**
 * The client package's build (client/dist, what `npm run build` and `npm pack`
 * produce), file by file. Running from source (`npm run dev`, tests), the
 * package is built first, once per process, so the page never gets a stale
 * client; `npm start` has built it already.
 */
function clientModuleLoader(root: string): (file: string) => Promise<string | undefined> {
  const dist = path.join(root, 'client/dist');
  let built: Promise<void> | undefined;
  const build = () =>
    (built ??= new Promise<void>((resolve, reject) => {
      const tsc = require.resolve('typescript/bin/tsc');
      execFile(process.execPath, [tsc, '-p', path.join(root, 'client/tsconfig.json')], (error, stdout) =>
        error ? reject(new Error(`the client package did not build: ${stdout || error.message}`)) : resolve(),
      );
    }));
  return async (file) => {
    if (__filename.endsWith('.ts')) await build();
    try {
      // A module of the package's root, or of its wording folder (the demo server lets no other path through).
      const [folder, name] = file.includes('/') ? file.split('/') : [undefined, file];
      const safe = folder === 'wording' ? path.join('wording', path.basename(name!)) : path.basename(file);
      return await readFile(path.join(dist, safe), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (file === 'index.js') throw new Error(`${dist} is missing; run \`npm run build\``);
      return undefined;
    }
  };
}

/** Where each library's browser build is, beside the CommonJS entry `require` finds. */
const VENDOR_BUILDS = {
  'markdown-it': (main: string) => path.join(path.dirname(main), 'browser/markdown-it.esm.min.mjs'),
  dompurify: (main: string) => path.join(path.dirname(main), 'purify.es.mjs'),
} as const;

/**
 * The client package's Markdown libraries as the demo page loads them (markdown.ts takes them as arguments):
 * each one's own browser build, one ES module with no imports, its source-map comment left off.
 */
async function vendorModule(name: keyof typeof VENDOR_BUILDS): Promise<string | undefined> {
  try {
    const text = await readFile(VENDOR_BUILDS[name](require.resolve(name)), 'utf8');
    return text.replace(/^\/\/# sourceMappingURL=.*$/m, '');
  } catch {
    return undefined;
  }
}

/** The demo page's folder, the client package's modules it imports, and the libraries those take. */
export function demoAssets(): {
  pageDir: string;
  clientModule: (file: string) => Promise<string | undefined>;
  vendorModule: typeof vendorModule;
  serviceWorker: () => Promise<string | undefined>;
} {
  const root = repositoryRoot();
  return {
    pageDir: path.join(root, 'examples/static-chat'),
    clientModule: clientModuleLoader(root),
    vendorModule,
    serviceWorker: () => readFile(path.join(root, 'client/sw.js'), 'utf8').catch(() => undefined),
  };
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError([`${name} must be a whole number from 0 to 65535 (got "${raw}")`]);
  }
  return n;
}

function loadSimulator(): typeof import('../../simulator') {
  try {
    // require, not import(): resolved the same way compiled (dist/simulator) and from source (tsx, jest).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('../../simulator') as typeof import('../../simulator');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new ConfigError([
      'No Genesys configuration is set, ' +
        'and this build has no development simulator for the embedded demo (dist/simulator). ' +
        'Set GENESYS_REGION, GENESYS_DEPLOYMENT_ID, CORS_ALLOWED_ORIGINS and SESSION_SECRET (see .env.example).',
    ]);
  }
}

export async function startEmbeddedDefault(env: NodeJS.ProcessEnv): Promise<EmbeddedDefault> {
  const demoPort = port(env, 'DEMO_PORT', DEFAULT_DEMO_PORT);
  const deployments = demoDeployments(env);
  const availabilityState = demoAvailability(env);
  let servicePort = port(env, 'PORT', DEFAULT_SERVICE_PORT);
  // Loopback unless told otherwise: this is a local demo (a container sets HOST=0.0.0.0).
  const host = env.HOST?.trim() || '127.0.0.1';
  const { startSimulator, genesysEnvFor, availabilityEnvFor } = loadSimulator();
  const assets = demoAssets();

  const simulator = await startSimulator({
    record: false, // runs for as long as the user likes; recording would grow without bound
    autoStart: true,
    agent: { typingDelayMs: 300, replyDelayMs: 900, greeting: GREETING },
    availabilityState,
  });

  // DEMO_DEPLOYMENTS=2: a second deployment, on a simulator of its own.
  const secondSimulator = deployments === 2 ? await startSecondSimulator() : undefined;

  let demo: DemoServer;
  try {
    demo = await startDemoServer({
      port: demoPort,
      host,
      ...assets,
      serviceUrlFor: (hostname) => `http://${hostname === '127.0.0.1' ? '127.0.0.1' : 'localhost'}:${servicePort}`,
      imageOrigins: [simulator.url, ...(secondSimulator ? [secondSimulator.url] : [])],
      signIn: simulator.signIn,
    });
  } catch (error) {
    await simulator.stop();
    await secondSimulator?.stop();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError([`DEMO_PORT: port ${demoPort} is in use; set DEMO_PORT to a free port for the demo page`]);
    }
    throw error;
  }

  const demoOrigins = [`http://localhost:${demo.port}`, `http://127.0.0.1:${demo.port}`];
  const userOrigins = (env.CORS_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !demoOrigins.includes(s));

  const embeddedEnv: NodeJS.ProcessEnv = {
    ...env,
    HOST: host,
    ...genesysEnvFor(simulator),
    // GET /availability reads the simulator's queue, schedule group and emergency group (its controls set them).
    ...availabilityEnvFor(simulator),
    GENESYS_ORIGIN: demoOrigins[0],
    CORS_ALLOWED_ORIGINS: [...demoOrigins, ...userOrigins].join(','),
    // A fresh key per run: sessions do not outlive the process, nor does the simulator.
    SESSION_SECRET: env.SESSION_SECRET?.trim() || randomBytes(48).toString('base64url'),
    // Web Push on, with a pair made for this run (a page's subscriptions do not outlive the process either).
    ...vapidFor(env),
  };
  const second =
    secondSimulator && (await servedTogether(embeddedEnv, simulator, secondSimulator, demoOrigins, userOrigins));

  return {
    env: second?.env ?? embeddedEnv,
    simulator,
    demo,
    demoOrigins,
    serviceStarted(serviceUrl) {
      servicePort = Number(new URL(serviceUrl).port);
      return [
        '',
        'No Genesys configuration found: ' +
          'running the embedded demo (the BFF, a local Genesys Cloud simulator and a demo chat page).',
        `  Open the demo chat:  ${demo.url}`,
        `  The BFF (the API):   http://localhost:${servicePort}  ` +
          `(reference: http://localhost:${servicePort}/openapi.json)`,
        `  Genesys simulator:   ${simulator.url}  ` +
          '(scripted bot: echoes your text; try "quick replies", "card", "human" for a human agent, "disconnect", ' +
          'or "closed" alone to close the contact centre)',
        ...(second
          ? [
              `  Two deployments: ${demoOrigins[0]} chats with the first, ${demoOrigins[1]} with the second ` +
                `(its own simulator, ${second.simulator.url}: PDF files only, sign-in off)`,
            ]
          : []),
        // CORS_ALLOWED_ORIGINS given for a page of one's own: say it was taken, so nobody wonders.
        ...(userOrigins.length > 0
          ? [`  Also allowed:        ${userOrigins.join(', ')} (from CORS_ALLOWED_ORIGINS, beside the demo's page)`]
          : []),
        'To use your own Genesys Cloud deployment, set GENESYS_REGION, GENESYS_DEPLOYMENT_ID, ' +
          'CORS_ALLOWED_ORIGINS and SESSION_SECRET',
        '(cp .env.example .env, then fill it in). Stop with Ctrl+C.',
        '',
      ];
    },
    async stop() {
      await demo.stop();
      await simulator.stop();
      await second?.stop();
    },
  };
}

function demoAvailability(env: NodeJS.ProcessEnv): (typeof DEMO_AVAILABILITY_STATES)[number] {
  const parsed = demoVariables.DEMO_AVAILABILITY.safeParse(env.DEMO_AVAILABILITY);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => i.message));
  return parsed.data;
}

function demoDeployments(env: NodeJS.ProcessEnv): number {
  const parsed = demoVariables.DEMO_DEPLOYMENTS.safeParse(env.DEMO_DEPLOYMENTS);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => i.message));
  return parsed.data;
}

/** DEMO_DEPLOYMENTS=2: the second deployment's simulator, told apart by its greeting, its file types and no sign-in. */
function startSecondSimulator(): Promise<Simulator> {
  return loadSimulator().startSimulator({
    record: false,
    autoStart: true,
    deploymentId: SECOND_DEPLOYMENT_ID,
    authEnabled: false,
    fileUploadModes: [{ fileTypes: ['application/pdf'], maxFileSizeKB: 10_240 }],
    agent: { typingDelayMs: 300, replyDelayMs: 900, greeting: SECOND_GREETING },
  });
}

/** The VAPID variables the user set, else a P-256 pair made now (the demo's subject is a placeholder). */
function vapidFor(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.VAPID_PUBLIC_KEY?.trim()) return {};
  const pair = generateVAPIDKeys();
  return {
    VAPID_PUBLIC_KEY: pair.publicKey,
    VAPID_PRIVATE_KEY: pair.privateKey,
    VAPID_SUBJECT: 'mailto:demo@example.com',
  };
}

/**
 * DEMO_DEPLOYMENTS=2: a deployments file serving both simulators, each page origin its own deployment (`localhost`
 * the first, `127.0.0.1` the second), so one install serving two sites can be seen in one browser.
 */
async function servedTogether(
  single: NodeJS.ProcessEnv,
  first: Simulator,
  simulator: Simulator,
  demoOrigins: string[],
  userOrigins: string[],
): Promise<{ env: NodeJS.ProcessEnv; simulator: Simulator; stop(): Promise<void> }> {
  const { deploymentEntryFor } = loadSimulator();
  const firstEntry = {
    ...deploymentEntryFor(first, 'first', [demoOrigins[0]!, ...userOrigins]),
    notifications: {
      vapidPublicKey: single.VAPID_PUBLIC_KEY,
      vapidPrivateKey: single.VAPID_PRIVATE_KEY,
      vapidSubject: single.VAPID_SUBJECT,
    },
    availability: {
      queueIds: [single.GENESYS_QUEUE_ID],
      scheduleGroupId: single.GENESYS_SCHEDULE_GROUP_ID,
      emergencyGroupId: single.GENESYS_EMERGENCY_GROUP_ID,
    },
  };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bff-demo-'));
  const file = path.join(dir, 'deployments.json');
  const deployments = [firstEntry, deploymentEntryFor(simulator, 'second', [demoOrigins[1]!])];
  await writeFile(file, JSON.stringify({ deployments }, null, 2));
  const env: NodeJS.ProcessEnv = { ...single, DEPLOYMENTS_FILE: file };
  for (const variable of Object.keys(DEPLOYMENT_VARIABLES)) delete env[variable];
  return {
    env,
    simulator,
    async stop() {
      await simulator.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
