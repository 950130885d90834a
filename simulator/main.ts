import { randomBytes } from 'node:crypto';
import { AVAILABILITY_STATES, availabilityEnvFor, genesysEnvFor, isAvailabilityState, startSimulator } from './index';

/**
 * `npm run sim`: the simulator on its own, printing the environment a BFF
 * needs to talk to it. SIM_PORT (default 9100, 0 = any free port) and
 * SIM_HOST (default 127.0.0.1), blank meaning unset as for the service;
 * SIM_PROFILE=strict for the strict profile (profile.ts). Recording is off
 * unless SIM_RECORD=1, so a long benchmark run does not grow without bound.
 * DEMO_AVAILABILITY (open, closed, busy, holiday, emergency, no_agents) sets the contact centre's state at start.
 */
async function main(): Promise<void> {
  const setting = process.env.SIM_PORT?.trim() || '9100';
  const port = Number(setting);
  if (!/^\d+$/.test(setting) || port > 65535) {
    console.error(
      `SIM_PORT must be a port number from 0 to 65535, 0 for any free port (got "${process.env.SIM_PORT}")`,
    );
    process.exit(2);
  }
  const host = process.env.SIM_HOST?.trim() || '127.0.0.1';
  const state = process.env.DEMO_AVAILABILITY?.trim().toLowerCase() || 'open';
  if (!isAvailabilityState(state)) {
    console.error(`DEMO_AVAILABILITY must be one of ${AVAILABILITY_STATES.join(', ')} (got "${state}")`);
    process.exit(2);
  }
  const sim = await startSimulator({
    availabilityState: state,
    port,
    host,
    record: process.env.SIM_RECORD === '1',
    profile: process.env.SIM_PROFILE === 'strict' ? 'strict' : 'default',
  }).catch((error: NodeJS.ErrnoException) => {
    // The most likely failure on a developer's machine: something else already has the port.
    if (error.code === 'EADDRINUSE')
      throw new Error(`${host}:${port} is already in use: set SIM_PORT to another port (0 = any free port)`);
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
      throw new Error(`SIM_HOST "${host}" is not an address of this machine`);
    throw error;
  });

  // Everything the service needs to start, so the lines can be pasted as they are (a fresh secret each run).
  const env = {
    ...genesysEnvFor(sim),
    ...availabilityEnvFor(sim),
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
