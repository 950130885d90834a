import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type Express } from 'express';
import { loadConfig, readConfig, type Config } from '../../src/config/schema';
import { DEPLOYMENT_VARIABLES } from '../../src/config/deploymentVariables';
import { OriginAllowlist } from '../../src/config/originAllowlist';
import { createApp, servingDeployments } from '../../src/http/app';
import { createLogger, type Logger } from '../../src/observability/logger';
import { Readiness } from '../../src/observability/readiness';
import { startService, type RunningService } from '../../src/server';

/**
 * Shared test scaffolding: a valid environment, the Config it yields, a logger
 * whose lines the test can read, and the app or the whole service built from
 * them. Overrides set a variable; `undefined` removes it.
 */

export type EnvOverrides = Record<string, string | undefined>;

export const TEST_DEPLOYMENT_ID = '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f';
export const TEST_SESSION_SECRET = 'test-session-secret-0123456789-abcdefghij';
/** The allowlist every test app starts with: two exact origins and a one-label wildcard. */
export const TEST_ORIGINS = ['https://shop.example.com', 'http://localhost:3000', 'https://*.example.org'];
export const ALLOWED_ORIGIN = TEST_ORIGINS[0]!;

export function testEnv(overrides: EnvOverrides = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    GENESYS_REGION: 'mypurecloud.ie',
    GENESYS_DEPLOYMENT_ID: TEST_DEPLOYMENT_ID,
    CORS_ALLOWED_ORIGINS: TEST_ORIGINS.join(','),
    SESSION_SECRET: TEST_SESSION_SECRET,
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '5000',
    ...overrides,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env;
}

/** testEnv with the deployments from `file` (DEPLOYMENTS_FILE) instead of the single deployment's variables. */
export function deploymentsFileEnv(file: string, overrides: EnvOverrides = {}): NodeJS.ProcessEnv {
  const env = testEnv({ DEPLOYMENTS_FILE: file, ...overrides });
  for (const variable of Object.keys(DEPLOYMENT_VARIABLES)) if (!(variable in overrides)) delete env[variable];
  return env;
}

export function testConfig(overrides: EnvOverrides = {}): Config {
  return loadConfig(testEnv(overrides));
}

/** The configuration of an environment with DEPLOYMENTS_FILE (read as the process reads it, asynchronously). */
export function fileConfig(env: NodeJS.ProcessEnv): Promise<Config> {
  return readConfig(env);
}

export interface CapturedLogger {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown> & { level: number; msg: string }>;
  /** Every line written so far, raw, newline-separated (to search for secrets). */
  text(): string;
  /** The messages logged at one level. */
  messages(level: 'debug' | 'info' | 'warn' | 'error'): string[];
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A real pino logger (same redaction as production) writing into memory. */
export function captureLogger(level = 'trace'): CapturedLogger {
  const chunks: string[] = [];
  const logger = createLogger({ level, destination: { write: (chunk: string) => void chunks.push(chunk) } });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown> & { level: number; msg: string });
  return {
    logger,
    text,
    lines,
    messages: (name) =>
      lines()
        .filter((l) => l.level === LEVELS[name])
        .map((l) => l.msg),
  };
}

export interface TestAppOptions {
  env?: EnvOverrides;
  config?: Config;
  readiness?: Readiness;
  routers?: Router[];
  /** The headers that could have chosen the deployment, as ServedDeployments names them when it serves several. */
  vary?: string[];
}

export interface TestApp {
  /** The request listener: the app, for the test's one deployment (its origins, no chat routes). */
  app: ((req: IncomingMessage, res: ServerResponse) => void) & { handler: Express };
  config: Config;
  readiness: Readiness;
  log: CapturedLogger;
}

/**
 * The real HTTP edge (createApp) with a ready Readiness, for supertest: every request is for the configuration's
 * first deployment, whose origins it allows and which has no chat routes.
 */
export function testApp(options: TestAppOptions = {}): TestApp {
  const config = options.config ?? testConfig(options.env);
  const log = captureLogger();
  const readiness = options.readiness ?? new Readiness();
  if (!options.readiness) readiness.set('config', { ok: true, detail: 'Configuration is valid.' });
  const express = createApp({ process: config.process, logger: log.logger, readiness, routers: options.routers });
  const deployment = {
    name: config.deployments[0]!.name,
    origins: OriginAllowlist.parse(config.deployments[0]!.allowedOrigins),
    routes: Router(),
    specs: [],
  };
  const vary = options.vary ?? [];
  const app = servingDeployments(express, () => ({ deployment, vary }));
  return { app, config, readiness, log };
}

export interface TestService extends RunningService {
  config: Config;
  log: CapturedLogger;
}

/** The whole service listening on 127.0.0.1 on an ephemeral port. Remember to stop() it. */
export async function startTestService(options: Omit<TestAppOptions, 'readiness'> = {}): Promise<TestService> {
  const config = options.config ?? testConfig(options.env);
  const log = captureLogger();
  const service = await startService(config, log.logger, { routers: options.routers });
  return { ...service, config, log };
}
