import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/schema';
import { testEnv } from '../support/app';

/**
 * The deployment files agree with the service and with each other; that each
 * validates against its published schema is deployValidator.test.ts.
 */
const ROOT = path.join(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** How long an instance drains after SIGTERM with `value` as SHUTDOWN_GRACE_MS (unset: the service's default). */
const drainMs = (value?: string) => loadConfig(testEnv({ SHUTDOWN_GRACE_MS: value })).process.shutdownGraceMs;
/** A compose duration such as `20s` or `1m30s`, in milliseconds. */
function composeDurationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...text.matchAll(/(\d+)(ms|h|m|s)/g)];
  expect(parts.map((p) => p[0]).join('')).toBe(text);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}
const kube = (name: string) => parse(read(`deploy/kubernetes/${name}`));
const composeFile = (file: string) => parseAllDocuments(read(file), { merge: true })[0]!.toJSON();
const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.demo.yml', 'deploy/docker-compose.scale.yml'];
/** The compose services that run the service's image, by file and name. */
function composeInstances(): { file: string; name: string; service: Record<string, unknown> }[] {
  return COMPOSE_FILES.flatMap((file) =>
    Object.entries(composeFile(file).services as Record<string, Record<string, unknown>>)
      .filter(([, service]) => String(service.image).startsWith('genesys-messaging-bff:'))
      .map(([name, service]) => ({ file, name, service })),
  );
}

test('Kubernetes: probes on /readyz and /healthz, a stop grace longer than the preStop pause and the drain, non-root and read-only', () => {
  const pod = kube('deployment.yaml').spec.template.spec;
  const container = pod.containers[0];
  expect(container.readinessProbe.httpGet.path).toBe('/readyz');
  expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  expect(container.startupProbe.httpGet.path).toBe('/healthz');
  const pauseMs = Number(
    /setTimeout\(\(\) => \{\}, (\d+)\)/.exec(container.lifecycle.preStop.exec.command.join(' '))?.[1],
  );
  expect(pauseMs).toBeGreaterThanOrEqual(3000);
  const drain = drainMs(kube('configmap.yaml').data.SHUTDOWN_GRACE_MS);
  expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(pauseMs + drain);
  expect(pod.securityContext).toMatchObject({
    runAsNonRoot: true,
    runAsUser: 1000,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(read('Dockerfile')).toMatch(/^USER node$/m); // uid 1000 in the node images
  expect(container.securityContext).toMatchObject({
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
  expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'tmp', emptyDir: expect.anything() }));
  expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: 'tmp', mountPath: '/tmp' }));
});

test('Kubernetes: the ingress hashes on the routing key and leaves live streams unbuffered and open', () => {
  const annotations = kube('ingress.yaml').metadata.annotations;
  // The query parameter routingKey, as nginx names it: the one expression every proxy file hashes on.
  expect(annotations['nginx.ingress.kubernetes.io/upstream-hash-by']).toBe('$arg_routingkey');
  expect(read('deploy/nginx/bff.conf')).toMatch(/^map \$arg_routingkey \$bff_route \{$/m);
  expect(read('deploy/haproxy/haproxy.cfg')).toMatch(/^\s*balance url_param routingKey$/m);
  expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
  expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
});

test("Kubernetes: the manifests name each other and select the Deployment's pods", () => {
  const deployment = kube('deployment.yaml');
  const podLabels = deployment.spec.template.metadata.labels;
  const container = deployment.spec.template.spec.containers[0];
  const service = kube('service.yaml');
  const selects = (selector: Record<string, string>) => expect(podLabels).toMatchObject(selector);
  selects(deployment.spec.selector.matchLabels);
  selects(service.spec.selector);
  selects(kube('pdb.yaml').spec.selector.matchLabels);
  for (const constraint of deployment.spec.template.spec.topologySpreadConstraints)
    selects(constraint.labelSelector.matchLabels);
  expect(container.ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
  const backend = kube('ingress.yaml').spec.rules[0].http.paths[0].backend.service;
  expect(backend).toEqual({ name: service.metadata.name, port: { name: service.spec.ports[0].name } });
  const hpa = kube('hpa.yaml');
  expect(hpa.spec.scaleTargetRef).toEqual({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: deployment.metadata.name,
  });
  expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
  expect(container.envFrom).toEqual([
    { configMapRef: { name: kube('configmap.yaml').metadata.name } },
    { secretRef: { name: kube('secret.example.yaml').metadata.name } },
  ]);
  // Every manifest but the Secret example, which must never be applied as it is.
  const manifests = fs
    .readdirSync(path.join(ROOT, 'deploy/kubernetes'))
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  expect([...kube('kustomization.yaml').resources].sort()).toEqual(
    manifests.filter((f) => f !== 'secret.example.yaml').sort(),
  );
  // HAProxy keeps a slot for every instance the autoscaler may run.
  const slots = /^\s*server-template bff 1-(\d+) /m.exec(read('deploy/haproxy/haproxy.cfg'))?.[1];
  expect(Number(slots)).toBeGreaterThanOrEqual(hpa.spec.maxReplicas);
});

test('compose: the scaled setup mounts the nginx configuration that hashes on the routing key, waits for healthy instances and Redis, and shares Redis', () => {
  const compose = composeFile('deploy/docker-compose.scale.yml');
  expect(compose.services.proxy.volumes).toContain('./nginx/bff.conf:/etc/nginx/conf.d/default.conf:ro');
  expect(compose.services.proxy.depends_on).toEqual({ bff: { condition: 'service_healthy' } });
  expect(compose.services.bff.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
  expect(compose.services.redis.healthcheck.test.join(' ')).toMatch(
    /REDISCLI_AUTH="\$\$REDIS_PASSWORD" redis-cli ping/,
  );
  expect(compose.services.bff.environment).toMatchObject({ REDIS_URL: 'redis://redis:6379', TRUST_PROXY: '1' });
  expect(compose.services.bff.deploy.replicas).toBe(3);
  expect(compose.services.bff.ports).toBeUndefined();
  expect(read('deploy/nginx/bff.conf')).toMatch(/hash \$bff_route consistent;/);
  expect(read('docker-compose.yml')).toContain('deploy/docker-compose.scale.yml');
});

test("compose: every instance is hardened like docker-compose.yml's and stops after its drain", () => {
  const hardening = ['read_only', 'cap_drop', 'security_opt', 'tmpfs', 'init', 'stop_signal', 'stop_grace_period'];
  const pick = (service: Record<string, unknown>) => Object.fromEntries(hardening.map((k) => [k, service[k]]));
  const base = composeFile('docker-compose.yml').services.bff;
  expect(pick(base)).toEqual({
    read_only: true,
    cap_drop: ['ALL'],
    security_opt: ['no-new-privileges:true'],
    tmpfs: ['/tmp'],
    init: false,
    stop_signal: 'SIGTERM',
    stop_grace_period: '20s',
  });
  const instances = composeInstances();
  expect(instances.map(({ file, name }) => `${file}:${name}`)).toEqual([
    'docker-compose.yml:bff',
    'docker-compose.demo.yml:demo',
    'deploy/docker-compose.scale.yml:bff',
  ]);
  for (const { file, name, service } of instances) {
    expect({ file, name, ...pick(service) }).toEqual({ file, name, ...pick(base) });
    const environment = (service.environment ?? {}) as Record<string, string>;
    expect(composeDurationMs(String(service.stop_grace_period))).toBeGreaterThan(
      drainMs(environment.SHUTDOWN_GRACE_MS),
    );
  }
});

test('Kubernetes: the metrics port listens on the pod address, and only the monitoring namespace reaches it', () => {
  expect(kube('configmap.yaml').data).toMatchObject({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' });
  const deployment = kube('deployment.yaml');
  const ports = deployment.spec.template.spec.containers[0].ports as { name: string; containerPort: number }[];
  const policy = kube('networkpolicy.yaml');
  expect(deployment.spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
  expect(policy.spec.policyTypes).toEqual(['Ingress']);
  const rules = policy.spec.ingress as { from?: unknown[]; ports: { port: string }[] }[];
  // Every rule names the container's ports by name; the API is open, the metrics port to one namespace only.
  for (const rule of rules) for (const p of rule.ports) expect(ports.map((c) => c.name)).toContain(p.port);
  const toMetrics = rules.filter((r) => r.ports.some((p) => p.port === 'metrics'));
  expect(toMetrics).toEqual([
    {
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      ports: [{ port: 'metrics', protocol: 'TCP' }],
    },
  ]);
  expect(rules.filter((r) => r.ports.some((p) => p.port === 'http'))).toEqual([
    { ports: [{ port: 'http', protocol: 'TCP' }] },
  ]);
  expect(ports.find((c) => c.name === 'metrics')!.containerPort).toBe(9464);
});

test('the image and the compose files that run it for a scraper bind metrics on every interface', () => {
  expect(read('Dockerfile')).toMatch(/^ENV NODE_ENV=production METRICS_PORT=9464 METRICS_HOST=0\.0\.0\.0$/m);
  for (const file of ['docker-compose.yml', 'deploy/docker-compose.scale.yml']) {
    const instances = composeInstances().filter((i) => i.file === file);
    for (const { service } of instances) expect(service.environment).toMatchObject({ METRICS_HOST: '0.0.0.0' });
  }
});

test('every variable the deployment files set is one the service documents in .env.example', () => {
  const documented = new Set([...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  // The demo page's own port: read by the embedded default (src/demo), not by the service's configuration.
  documented.add('DEMO_PORT');
  const named = [...Object.keys(kube('configmap.yaml').data), ...Object.keys(kube('secret.example.yaml').stringData)];
  for (const env of kube('deployment.yaml').spec.template.spec.containers[0].env ?? []) named.push(env.name);
  for (const { service } of composeInstances())
    named.push(...Object.keys((service.environment ?? {}) as Record<string, string>));
  expect(named.length).toBeGreaterThan(10);
  expect(named.filter((name) => !documented.has(name))).toEqual([]);
});

/** The shipped compose's Redis command line, as Redis will parse it (the shell's quoting and compose's `$$` undone). */
function composeRedisArguments(): string[] {
  const script = String(composeFile('deploy/docker-compose.scale.yml').services.redis.command[2]).replace(/\$\$/g, '$');
  const line = script.slice(script.indexOf('exec redis-server') + 'exec redis-server'.length);
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}
const option = (args: string[], name: string) => args[args.indexOf(name) + 1];

test('compose: Redis keeps what it acknowledged (append-only file on a volume), never evicts, and has a password', () => {
  const compose = composeFile('deploy/docker-compose.scale.yml');
  const redis = compose.services.redis;
  const args = composeRedisArguments();
  expect(option(args, '--appendonly')).toBe('yes');
  expect(['everysec', 'always']).toContain(option(args, '--appendfsync'));
  expect(option(args, '--maxmemory-policy')).toBe('noeviction');
  expect(option(args, '--maxmemory')).toMatch(/^\d+[mg]b$/);
  expect(option(args, '--requirepass')).toBe('$REDIS_PASSWORD');
  // Refuses to start without a password rather than run an open Redis.
  expect(redis.command[2]).toContain('$${REDIS_PASSWORD:?');
  expect(redis.volumes).toEqual(['redis-data:/data']);
  expect(Object.keys(compose.volumes)).toContain('redis-data');
  // The instances read the same password (.env) and give it to Redis.
  expect(redis.env_file).toEqual(compose.services.bff.env_file);
  expect(read('.env.example')).toMatch(/^# REDIS_PASSWORD=/m);
  for (const name of ['bff', 'redis'])
    expect(compose.services[name].deploy.resources.limits).toMatchObject({
      cpus: expect.any(String),
      memory: expect.any(String),
    });
});

test("Kubernetes: the optional Redis is durable, never evicts, takes its password from a Secret, and stays out of the service's kustomization", () => {
  const redisKube = (name: string) => parse(read(`deploy/kubernetes/redis/${name}`));
  const conf = redisKube('configmap.yaml').data['redis.conf'] as string;
  const setting = (name: string) => new RegExp(`^${name} (.+)$`, 'm').exec(conf)?.[1];
  expect(setting('appendonly')).toBe('yes');
  expect(setting('appendfsync')).toBe('everysec');
  expect(setting('maxmemory-policy')).toBe('noeviction');
  expect(setting('dir')).toBe('/data');
  const set = redisKube('statefulset.yaml');
  const container = set.spec.template.spec.containers[0];
  expect(container.args).toEqual(['/etc/redis/redis.conf', '--requirepass', '$(REDIS_PASSWORD)']);
  expect(container.env).toContainEqual({
    name: 'REDIS_PASSWORD',
    valueFrom: { secretKeyRef: { name: redisKube('secret.example.yaml').metadata.name, key: 'REDIS_PASSWORD' } },
  });
  expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: 'data', mountPath: '/data' }));
  expect(set.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
  // maxmemory below the container's limit, so Redis refuses writes before the kernel kills it.
  const mib = (v: string) => Number(/^(\d+)(mb|Mi)$/.exec(v)![1]);
  expect(mib(setting('maxmemory')!)).toBeLessThan(mib(container.resources.limits.memory));
  expect(redisKube('service.yaml').spec.selector).toEqual(set.spec.template.metadata.labels);
  expect([...redisKube('kustomization.yaml').resources].sort()).toEqual([
    'configmap.yaml',
    'service.yaml',
    'statefulset.yaml',
  ]);
  expect(kube('kustomization.yaml').resources).not.toContain('redis');
  expect(kube('secret.example.yaml').stringData.REDIS_URL).toContain(
    `@${redisKube('service.yaml').metadata.name}:6379`,
  );
});

test('the HPA waits out short bursts before scaling up, the CPU request comes from the bench, and compose limits what its services may take', () => {
  const hpa = kube('hpa.yaml');
  expect(hpa.spec.behavior.scaleUp.stabilizationWindowSeconds).toBeGreaterThanOrEqual(30);
  expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
  const cpu = kube('deployment.yaml').spec.template.spec.containers[0].resources.requests.cpu as string;
  expect(cpu).toBe('250m');
  const compose = composeFile('deploy/docker-compose.scale.yml');
  for (const name of ['bff', 'proxy'])
    expect([name, compose.services[name].deploy.resources.limits]).toEqual([
      name,
      expect.objectContaining({ cpus: expect.any(String), memory: expect.any(String) }),
    ]);
  // The proxy reloads nginx (re-resolving the instances) when the set of replicas changes.
  expect(compose.services.proxy.command.join(' ')).toMatch(/getent ahostsv4 bff[\s\S]*nginx -s reload/);
  // nginx's own errors are problem+json, like the service's.
  expect(read('deploy/nginx/bff.conf')).toMatch(
    /error_page 502 504 =503 @no_instance;[\s\S]*default_type application\/problem\+json;/,
  );
});

/** The relative modules `file` imports as values (type-only imports are erased), resolved to source files. */
function valueImports(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\bfrom\s+)?'(\.[^']+)'/gm)];
  return specifiers.map(([, specifier]) => {
    const base = path.resolve(path.dirname(file), specifier!.replace(/\.js$/, ''));
    const found = [`${base}.ts`, `${base}/index.ts`].find((candidate) => fs.existsSync(candidate));
    if (!found) throw new Error(`${path.relative(ROOT, file)}: cannot resolve ${specifier}`);
    return found;
  });
}

test('the image holds every module the service loads, the one it takes from the browser client too', () => {
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    valueImports(file).forEach(visit);
  };
  visit(path.join(ROOT, 'src/main.ts'));
  const files = [...loaded].map((file) => path.relative(ROOT, file).split(path.sep).join('/'));
  // The transcript's layout and locale, and the word catalogues the locale reads: pure modules, nothing of a browser.
  expect(files.filter((file) => !file.startsWith('src/')).sort()).toEqual([
    'client/src/transcriptLayout.ts',
    'client/src/transcriptLocale.ts',
    'client/src/wording/ar.ts',
    'client/src/wording/de.ts',
    'client/src/wording/en.ts',
    'client/src/wording/es.ts',
    'client/src/wording/fr.ts',
    'client/src/wording/index.ts',
  ]);
  // tsc compiles each to dist/ by its path from the root; the runtime stage copies folders of it from the build.
  const runtime = read('Dockerfile').split(/^FROM .* AS runtime$/m)[1]!;
  const copied = [...runtime.matchAll(/^COPY --from=build \/app\/(\S+) \.\/(\S+)$/gm)]
    .filter(([, from, to]) => from === to)
    .map(([, from]) => `${from}/`);
  const missing = files.map((file) => `dist/${file.replace(/\.ts$/, '.js')}`);
  expect(missing.filter((built) => !copied.some((folder) => built.startsWith(folder)))).toEqual([]);
});
