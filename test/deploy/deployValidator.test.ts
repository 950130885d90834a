import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * The deployment files: each validates against its published schema
 * (scripts/validate-deploy.mjs: the Kubernetes OpenAPI schemas, the Compose
 * Specification, `haproxy -c`). How they agree with the service and each other
 * is manifests.test.ts.
 *
 * @needs haproxy
 */
const ROOT = path.join(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const validate = (...files: string[]) =>
  spawnSync(process.execPath, ['scripts/validate-deploy.mjs', ...files], { cwd: ROOT, encoding: 'utf8' });

test('every Kubernetes manifest, compose file and the HAProxy configuration validates', () => {
  const result = validate();
  expect(result.stdout).not.toContain('INVALID');
  expect(result.status).toBe(0);
  expect(result.stdout.match(/^ok /gm)?.length).toBeGreaterThanOrEqual(17);
  expect(result.stdout).toMatch(/^ok +deploy\/kubernetes\/redis\/statefulset.yaml$/m);
}, 60_000);

test('the validator refuses what the schemas forbid', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-'));
  try {
    const deployment = parse(read('deploy/kubernetes/deployment.yaml'));
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
    fs.writeFileSync(path.join(dir, 'deployment.yaml'), JSON.stringify(deployment));
    const compose = parseAllDocuments(read('deploy/docker-compose.scale.yml'))[0]!.toJSON();
    compose.services.bff.restart_politely = 'yes';
    fs.writeFileSync(path.join(dir, 'docker-compose.bad.yml'), JSON.stringify(compose));
    fs.writeFileSync(path.join(dir, 'bad.cfg'), 'backend bff\n    balance sometimes\n');
    const result = validate(
      path.join(dir, 'deployment.yaml'),
      path.join(dir, 'docker-compose.bad.yml'),
      path.join(dir, 'bad.cfg'),
    );
    expect(result.status).toBe(1);
    expect(result.stdout.match(/^INVALID/gm)).toHaveLength(3);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
