import 'dotenv/config';
import { createLogger } from './observability/logger';
import { runProcess } from './processMain';

// The entry point (`npm start`, the container's CMD): the service's life is src/processMain.ts, run with this process.
void runProcess({
  env: process.env,
  events: process,
  exit: (code) => process.exit(code),
  console,
  logger: (level) => createLogger({ level }),
});
