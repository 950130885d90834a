import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/schema';
import { testEnv } from '../support/app';

/**
 * The deployment files: each validates against its published schema
 * (scripts/validate-deploy.mjs: the Kubernetes OpenAPI schemas, the Compose
 * Specification, `haproxy -c`), and they agree with the service and each other.
 */
const ROOT = path.join(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const validate = (...files: string[]) => spawnSync(process.execPath, ['scripts/validate-deploy.mjs', ...files], { cwd: ROOT, encoding: 'utf8' });

test('every Kubernetes manifest, compose file and the HAProxy configuration validates', () => {
  const result = validate();
  expect(result.stdout).not.toContain('INVALID');
  expect(result.status).toBe(0);
  expect(result.stdout.match(/^ok /gm)?.length).toBeGreaterThanOrEqual(12);
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
    const result = validate(path.join(dir, 'deployment.yaml'), path.join(dir, 'docker-compose.bad.yml'), path.join(dir, 'bad.cfg'));
    expect(result.status).toBe(1);
    expect(result.stdout.match(/^INVALID/gm)).toHaveLength(3);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test('Kubernetes: probes on /readyz and /healthz, a stop grace longer than the drain, non-root and read-only, hashing on the routing key', () => {
  const deployment = parse(read('deploy/kubernetes/deployment.yaml'));
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  expect(container.readinessProbe.httpGet.path).toBe('/readyz');
  expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  const drainMs = loadConfig(testEnv({ SHUTDOWN_GRACE_MS: undefined })).shutdownGraceMs;
  expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs + 5000);
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  const ingress = parse(read('deploy/kubernetes/ingress.yaml'));
  expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/upstream-hash-by']).toBe('$http_x_chat_session$arg_routingkey');
  expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
});

test('compose: the scaled setup mounts the nginx configuration that hashes on the routing key, and shares Redis', () => {
  const compose = parse(read('deploy/docker-compose.scale.yml'));
  expect(compose.services.proxy.volumes).toContain('./nginx/bff.conf:/etc/nginx/conf.d/default.conf:ro');
  expect(compose.services.bff.environment.REDIS_URL).toBe('redis://redis:6379');
  expect(read('deploy/nginx/bff.conf')).toMatch(/hash \$bff_route consistent;/);
  expect(read('docker-compose.yml')).toContain('deploy/docker-compose.scale.yml');
});

test('every variable the deployment files set is one the service documents in .env.example', () => {
  const documented = new Set([...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const configMap = parse(read('deploy/kubernetes/configmap.yaml')).data as Record<string, string>;
  const secret = parse(read('deploy/kubernetes/secret.example.yaml')).stringData as Record<string, string>;
  const compose = parse(read('deploy/docker-compose.scale.yml')).services.bff.environment as Record<string, string>;
  const named = [...Object.keys(configMap), ...Object.keys(secret), ...Object.keys(compose)];
  expect(named.filter((name) => !documented.has(name))).toEqual([]);
});
