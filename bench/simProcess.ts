import { startSimWithAdmin } from './lib/simAdmin';
import type { SimulatorOptions } from '../simulator';

/**
 * Bench only: the Genesys simulator in its own process (the default stand-in;
 * bench/lib/simAdmin.ts has the admin endpoints). Options come from
 * SIM_OPTIONS (JSON SimulatorOptions). On start it prints one line
 * `READY {json}` with the simulator's URLs and the admin URL.
 */
async function main(): Promise<void> {
  const options = JSON.parse(process.env.SIM_OPTIONS ?? '{}') as SimulatorOptions;
  const running = await startSimWithAdmin(options);
  process.stdout.write(`READY ${JSON.stringify(running.info)}\n`);
  const stop = () => {
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(`bench simulator failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
