import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm test`'s first step (scripts/test-prerequisites.sh), with fake
 * programs on PATH: what it installs, when, and when it refuses.
 */
const SCRIPT = path.join(__dirname, '../../scripts/test-prerequisites.sh');
/** bash itself, by its path, so that a test can give the script a PATH without the system's programs. */
const BASH = fs.realpathSync(spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim());
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prereq-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fake program that logs its arguments to calls.log and exits with `code`. */
function fake(name: string, code = 0, body = ''): void {
  fs.writeFileSync(
    path.join(dir, name),
    `#!/bin/sh\necho "${name} $*" >> "${dir}/calls.log"\n${body}\nexit ${code}\n`,
    { mode: 0o755 },
  );
}

type Binaries = {
  curl?: string;
  chromium?: string;
  redis?: string;
  nginx?: string;
  podman?: string;
  runc?: string;
  podmanCompose?: string;
  debootstrap?: string;
  ip?: string;
  dbusDaemon?: string;
  pythonGi?: string;
};

/** Runs the script with `binaries` where the tests look for them (the rest present), and PATH (the fakes first) as given. */
function run(binaries: Binaries, PATH = `${dir}:/usr/bin:/bin`) {
  const result = spawnSync(BASH, [SCRIPT], {
    env: {
      PATH,
      CURL_BINARY: binaries.curl ?? '/bin/true',
      CHROMIUM_PATH: binaries.chromium ?? '/bin/true',
      REDIS_SERVER: binaries.redis ?? '/bin/true',
      NGINX_BINARY: binaries.nginx ?? '/bin/true',
      HAPROXY_BINARY: '/bin/true',
      PODMAN_BINARY: binaries.podman ?? '/bin/true',
      RUNC_BINARY: binaries.runc ?? '/bin/true',
      PODMAN_COMPOSE_BINARY: binaries.podmanCompose ?? '/bin/true',
      DEBOOTSTRAP_BINARY: binaries.debootstrap ?? '/bin/true',
      IP_BINARY: binaries.ip ?? '/bin/true',
      DBUS_DAEMON: binaries.dbusDaemon ?? '/bin/true',
      PYTHON3_GI: binaries.pythonGi ?? '/bin/true',
    },
    encoding: 'utf8',
  });
  const calls = fs.existsSync(path.join(dir, 'calls.log'))
    ? fs.readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n')
    : [];
  return { code: result.status, stderr: result.stderr, calls };
}

test('with everything present it does nothing: no apt-get, not even an update', () => {
  fake('apt-get');
  fake('id', 0, 'echo 0');
  expect(run({})).toMatchObject({ code: 0, calls: [] });
});

test('without root or passwordless sudo it stops at once, naming each missing package and the command', () => {
  fake('apt-get');
  fake('id', 0, 'echo 1000');
  fake('sudo', 1);
  const result = run({ redis: `${dir}/none`, nginx: `${dir}/none` });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('missing: redis-server nginx');
  expect(result.stderr).toContain(
    'sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server nginx',
  );
  expect(result.calls.filter((c) => c.startsWith('apt-get'))).toEqual([]);
});

test("the README container test's programs are among them: podman, runc, podman-compose, debootstrap and iproute2", () => {
  fake('apt-get');
  fake('id', 0, 'echo 1000');
  fake('sudo', 1);
  const none = `${dir}/none`;
  const result = run({ podman: none, runc: none, podmanCompose: none, debootstrap: none, ip: none });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'sudo apt-get install -y --no-install-recommends podman runc podman-compose debootstrap iproute2',
  );
});

test("the desktop that clicks Chromium's notifications is among them: dbus-daemon and python3-gi", () => {
  fake('apt-get');
  fake('id', 0, 'echo 1000');
  fake('sudo', 1);
  const none = `${dir}/none`;
  const result = run({ dbusDaemon: none, pythonGi: none });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('sudo apt-get install -y --no-install-recommends dbus-daemon python3-gi');
});

test("curl is among them: the README's curl quick start runs as a test, and a bare Debian image has no curl", () => {
  fake('apt-get');
  fake('id', 0, 'echo 1000');
  fake('sudo', 1);
  const result = run({ curl: `${dir}/none` });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('missing: curl.');
  expect(result.stderr).toContain('sudo apt-get install -y --no-install-recommends curl');
});

test('without apt-get (not Debian-like) it stops at once, naming what is missing and how to install it', () => {
  fake('id', 0, 'echo 0');
  fake('sudo');
  // Only the fakes on PATH: this machine's own apt-get is out of reach.
  const result = run({ chromium: `${dir}/none` }, dir);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('no apt-get');
  expect(result.stderr).toContain('missing: chromium.');
  expect(result.stderr).toContain('sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium');
  // It tried nothing: no install, no sudo.
  expect(result.calls).toEqual([]);
});

test('a user with passwordless sudo gets the missing packages installed through sudo', () => {
  const installed = path.join(dir, 'nginx');
  fake('apt-get', 0, `[ "$1" = install ] && printf '#!/bin/sh\\n' > "${installed}" && /bin/chmod +x "${installed}"`);
  fake('id', 0, 'echo 1000');
  // sudo -n runs the command (as root, in this pretence).
  fake('sudo', 0, '[ "$1" = -n ] && shift; "$@"');
  fake('tee', 0, 'cat > /dev/null');
  fake('chmod');
  fake('rm');
  const result = run({ nginx: installed });
  expect(result.code).toBe(0);
  const apt = result.calls.filter((c) => c.startsWith('apt-get'));
  expect(apt).toEqual(['apt-get install -y --no-install-recommends nginx']);
  expect(result.calls).toContain(
    'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx',
  );
});

test('as root it installs only what is missing, updating the package lists only when the first install fails', () => {
  const installed = path.join(dir, 'chromium');
  // The first install fails (lists out of date); after an update it "installs" chromium.
  fake(
    'apt-get',
    0,
    `case "$1" in update) touch "${dir}/updated";; install) [ -e "${dir}/updated" ] || exit 100; printf '#!/bin/sh\\n' > "${installed}"; /bin/chmod +x "${installed}";; esac`,
  );
  fake('id', 0, 'echo 0');
  fake('tee', 0, 'cat > /dev/null');
  fake('chmod');
  fake('rm');
  const result = run({ chromium: installed });
  expect(result.code).toBe(0);
  const apt = result.calls.filter((c) => c.startsWith('apt-get'));
  expect(apt).toEqual([
    'apt-get install -y --no-install-recommends chromium',
    'apt-get update',
    'apt-get install -y --no-install-recommends chromium',
  ]);
});
