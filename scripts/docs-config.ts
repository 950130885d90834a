/**
 * `npm run docs:config`: writes docs/configuration.md and .env.example from the configuration schema
 * (src/config/variables.ts, src/config/limits.ts), where each variable is described. Never edit the two by hand;
 * test/config/documentation.test.ts fails when they differ from what this writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { configurationDocuments } from '../src/config/reference';

const root = path.resolve(__dirname, '..');
for (const [file, text] of Object.entries(configurationDocuments())) {
  const target = path.join(root, file);
  const before = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
  if (before === text) {
    process.stdout.write(`${file}: unchanged\n`);
    continue;
  }
  fs.writeFileSync(target, text);
  process.stdout.write(`${file}: written\n`);
}
