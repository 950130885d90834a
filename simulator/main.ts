import { randomBytes } from 'node:crypto';
import { genesysEnvFor, startSimulator } from './index';

/**
 * `npm run sim`: the simulator on its own, printing the environment a BFF
 * needs to talk to it. SIM_PORT (default 9100, 0 = any free port) and
 * SIM_HOST (default 127.0.0.1); SIM_PROFILE=strict for the strict profile (profile.ts). Recording is off unless SIM_RECORD=1, so a
 * long benchmark run does not grow without bound.
 */
async function main(): Promise<void> {
  const port = Number(process.env.SIM_PORT ?? '9100');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`SIM_PORT must be a port number from 0 to 65535 (got "${process.env.SIM_PORT}")`);
    process.exit(2);
  }
  const sim = await startSimulator({
    port,
    host: process.env.SIM_HOST ?? '127.0.0.1',
    record: process.env.SIM_RECORD === '1',
    profile: process.env.SIM_PROFILE === 'strict' ? 'strict' : 'default',
  });

  // Everything the service needs to start, so the lines can be pasted as they are (a fresh secret each run).
  const env = {
    ...genesysEnvFor(sim),
    CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
    SESSION_SECRET: randomBytes(36).toString('base64url'),
  };
  const lines = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  console.log(`# Genesys simulator listening on ${sim.url}; use this environment for the BFF:`);
  console.log(lines.join('\n'));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`# ${signal}: stopping the simulator`);
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`simulator failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
