import { join } from 'node:path';

/** What each part hands back: rows for the terminal table, and raw data for the JSON. */
export interface Row {
  part: string;
  metric: string;
  value: string;
  target?: string;
  /** undefined when the row has no target. */
  met?: boolean;
}

export interface PartOutput {
  name: string;
  rows: Row[];
  data: Record<string, unknown>;
}

export interface Ctx {
  logDir: string;
  /** Where `--cpu-prof` writes the service's profiles; undefined when not profiling. */
  profileDir?: string;
  log(message: string): void;
}

export const RESULTS_DIR = join(__dirname, '..', '..', '..', '..', 'bench', 'results');

export const ms = (v: number, digits = 2) => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a');
export const kb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KB` : 'n/a');
export const mb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : 'n/a');
export const perSec = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}/s` : 'n/a');

export function printTable(rows: Row[]): string {
  const header = ['part', 'metric', 'measured', 'target', 'met'];
  const cells = rows.map((r) => [
    r.part,
    r.metric,
    r.value,
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
