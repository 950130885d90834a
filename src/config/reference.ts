import path from 'node:path';
import type { z } from 'zod';
import { deploymentsFileMarkdown } from './deploymentsReference';
import { metaOf, VARIABLE_GROUPS, type LimitScope, type VariableGroup, type VariableMeta } from './envValues';
import { demoVariables, envSchema } from './variables';

/**
 * The configuration reference, written from the schema (variables.ts, limits.ts): docs/configuration.md and
 * .env.example. `npm run docs:config` (scripts/docs-config.ts) writes both; test/config/documentation.test.ts fails
 * when either differs from what this yields.
 */

export interface Variable extends VariableMeta {
  name: string;
  group: VariableGroup;
  summary: string;
  /** Whether .env.example lists it: every variable loadConfig reads, not the embedded demo's. */
  inEnvExample: boolean;
}

const SOURCES = 'src/config/variables.ts and src/config/limits.ts';
const ROOT = path.resolve(__dirname, '../..');
const DEPLOYMENTS = 'The deployments file';
const REGENERATE = 'npm run docs:config';

function variablesOf(shape: Record<string, z.ZodType>, inEnvExample: boolean): Variable[] {
  return Object.entries(shape).map(([name, schema]) => {
    const meta = metaOf(schema);
    if (!meta.group || !meta.summary) throw new Error(`${name} has no description (.meta(doc({ group, summary })))`);
    return { ...meta, name, group: meta.group, summary: meta.summary, inEnvExample };
  });
}

/** Every documented variable, grouped in the reference's order, in the schema's order within a group. */
export function configurationVariables(): Variable[] {
  const all = [...variablesOf(envSchema.shape, true), ...variablesOf(demoVariables, false)];
  const order = Object.keys(VARIABLE_GROUPS);
  return all.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
}

const code = (value: string | number) => `\`${value}\``;
const plain = (markdown: string) => markdown.replace(/`/g, '');

function allowedValues(v: Variable): string | undefined {
  if (v.values) return `one of ${v.values.map(code).join(', ')}`;
  if (v.minimum !== undefined && v.maximum !== undefined)
    return `a whole number from ${code(v.minimum)} to ${code(v.maximum)}`;
  if (v.schemes) return `an absolute URL, ${v.schemes.map((s) => code(`${s}//`)).join(' or ')}`;
  return undefined;
}

function requirement(v: Variable): string {
  if (v.required === true) return 'yes';
  return v.required ?? 'no';
}

function defaultOf(v: Variable): string {
  if (v.default !== undefined) return code(v.default);
  return v.unset ?? 'unset';
}

/** Markdown with each variable named (bare or as code) as a code link to its entry. */
function linkNames(markdown: string, names: ReadonlySet<string>, self: string): string {
  const link = (name: string) => (name === self ? code(name) : `[${code(name)}](#${name.toLowerCase()})`);
  return markdown
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? names.has(part.slice(1, -1))
          ? link(part.slice(1, -1))
          : part
        : part.replace(/\b[A-Z][A-Z0-9_]{2,}\b/g, (word) => (names.has(word) ? link(word) : word)),
    )
    .join('');
}

/** Where a limit holds, in the words of docs/configuration.md (the same whatever number of deployments is served). */
const HOLDS: Record<LimitScope, string> = {
  instance: 'for the whole instance, across every deployment it serves',
  address: 'per client address on each instance, across every deployment',
  'address-shared': 'per client address, across every deployment; with Redis, across every instance too',
  session: 'per chat session',
  'session-shared': 'per chat session; with Redis, across every instance',
  'deployment-shared': 'per deployment; with Redis, across every instance',
  request: 'per request',
};

function markdownEntry(v: Variable, names: ReadonlySet<string>): string {
  const facts = [
    `- Required: ${requirement(v)}`,
    `- Default: ${v.required === true && v.default === undefined ? 'none' : defaultOf(v)}`,
  ];
  const allowed = allowedValues(v);
  if (allowed) facts.push(`- Allowed: ${allowed}`);
  if (v.secret) facts.push('- Secret: keep it out of version control and logs');
  if (v.holds) facts.push(`- Holds: ${HOLDS[v.holds]}`);
  const text = v.details ? `${v.summary} ${v.details}` : v.summary;
  return [`### ${code(v.name)}`, text, facts.join('\n')].map((part) => linkNames(part, names, v.name)).join('\n\n');
}

const anchor = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

/**
 * docs/configuration.md: every variable, by group, with its description, default, bounds and whether it is required.
 */
export function configurationMarkdown(variables = configurationVariables()): string {
  const names = new Set(variables.map((v) => v.name));
  const groups = Object.entries(VARIABLE_GROUPS).filter(([group]) => variables.some((v) => v.group === group));
  const firstDeployment = variables.filter((v) => v.required === true);
  const parts = [
    '# Configuration',
    `<!-- Generated by \`${REGENERATE}\` from ${SOURCES}. Do not edit: change the descriptions there. -->`,
    'All configuration is environment variables (and, if you choose, a [deployments file](#the-deployments-file) ' +
      "for the deployment's own settings), validated once at start-up before the service listens; every " +
      'problem is reported together, each with what to do about it. A blank value counts as unset. ' +
      '[`.env.example`](../.env.example) lists the same variables as a file to copy (`cp .env.example .env`); ' +
      '`npm start` and `docker compose up` both read `.env`.',
    `This page is generated from the configuration schema (${SOURCES}), where each variable's description, ` +
      'default and bounds sit beside the code that parses it. To change it, change the schema and run ' +
      `\`${REGENERATE}\`, which writes this page and \`.env.example\` anew; \`test/config/documentation.test.ts\` ` +
      'fails when either differs from what the schema says.',
    '## A first deployment',
    `These ${firstDeployment.length} are required; every other variable has a default or turns a feature off when ` +
      `unset:`,
    firstDeployment
      .map((v) => `- [${code(v.name)}](#${v.name.toLowerCase()}): ${linkNames(v.summary, names, v.name)}`)
      .join('\n'),
    '## Contents',
    [
      ...groups.map(([, title]) => `- [${title}](#${anchor(title)})`),
      `- [${DEPLOYMENTS}](#${anchor(DEPLOYMENTS)})`,
    ].join('\n'),
  ];
  for (const [group, title] of groups) {
    parts.push(`## ${title}`);
    for (const v of variables.filter((x) => x.group === group)) parts.push(markdownEntry(v, names));
  }
  parts.push(deploymentsFileMarkdown(ROOT));
  return `${parts.join('\n\n')}\n`;
}

/** `text` as comment lines of at most `width` characters. */
function comment(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/)) {
    if (line.length > 1 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

function envEntry(v: Variable): string[] {
  const when = v.required === true ? 'Required. ' : typeof v.required === 'string' ? `Required ${v.required}. ` : '';
  const allowed =
    v.values && v.values.length <= 8
      ? `one of ${v.values.join(', ')}`
      : v.minimum !== undefined && v.maximum !== undefined
        ? `${v.minimum} to ${v.maximum}`
        : v.schemes && `URL (${v.schemes.map((s) => `${s}//`).join(' or ')})`;
  const unset = v.default !== undefined ? `default ${v.default}` : v.unset && `unset: ${plain(v.unset)}`;
  const facts = [allowed, unset].filter(Boolean).join('; ');
  const sentence = facts && ` ${facts[0]!.toUpperCase()}${facts.slice(1)}.`;
  const value = v.secret ? '' : String(v.default ?? v.example ?? '');
  const line = v.required === true ? `${v.name}=${value}` : `# ${v.name}=${value}`;
  return [...comment(plain(`${when}${v.summary}${sentence}`)), line];
}

/** .env.example: every variable loadConfig reads, commented; those a first deployment needs uncommented. */
export function envExample(variables = configurationVariables()): string {
  const listed = variables.filter((v) => v.inEnvExample);
  const lines = [
    '# Configuration for the Genesys Cloud Web Messaging BFF.',
    `# Generated by \`${REGENERATE}\` from the configuration schema, where each variable is`,
    `# described (${SOURCES}); docs/configuration.md`,
    '# says more of each. Do not edit this file: change the descriptions there and run the command.',
    '#',
    '# Copy to .env (`cp .env.example .env`) and fill in; `npm start` and `docker compose up`',
    '# both read .env. The uncommented variables are required for a first deployment; the',
    '# commented-out ones are optional and show their default or an example. A blank value',
    '# counts as unset. Never commit .env: it holds secrets.',
  ];
  for (const [group, title] of Object.entries(VARIABLE_GROUPS)) {
    const inGroup = listed.filter((v) => v.group === group);
    if (inGroup.length === 0) continue;
    lines.push('', `# --- ${title} `.padEnd(79, '-'));
    for (const v of inGroup) lines.push('', ...envEntry(v));
  }
  return `${lines.join('\n')}\n`;
}

/** The files `npm run docs:config` writes, by path from the repository root. */
export function configurationDocuments(): Record<string, string> {
  const variables = configurationVariables();
  return { 'docs/configuration.md': configurationMarkdown(variables), '.env.example': envExample(variables) };
}
