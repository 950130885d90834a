// `npm start`'s build step: compiles (incrementally) only when a source file
// changed since the last build, so a second `npm start` goes straight to node.
//   node scripts/build-if-changed.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = [
  'src',
  'simulator',
  'client/src',
  'client/package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'client/tsconfig.json',
  'package-lock.json',
];

/** The newest modification time under a file or directory (0 when it does not exist). */
function newest(target) {
  let stat;
  try {
    stat = fs.statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  // A directory's own mtime changes when a file is added or removed.
  let latest = stat.mtimeMs;
  for (const entry of fs.readdirSync(target)) latest = Math.max(latest, newest(path.join(target, entry)));
  return latest;
}

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const changed = Math.max(...inputs.map((i) => newest(path.join(root, i))));
const output = path.join(root, 'dist', 'src', 'main.js');
// The client package builds into its own folder (client/dist), which the demo page imports.
const clientOutput = path.join(root, 'client', 'dist', 'index.js');
if (built > changed && fs.existsSync(output) && fs.existsSync(clientOutput)) process.exit(0);
// Output removed by hand: tsc's incremental record would still call it up to date.
if (!fs.existsSync(output)) fs.rmSync(path.join(root, 'dist', '.tsbuildinfo'), { recursive: true, force: true });

execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
