import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ANALYZED_PATH, BUILD_NAMESPACE, PHASES, buildNetworkPolicy, buildPod, buildSecret, ownedSelector, phaseArgs, phaseExec, probeCommand, probePod, registryAuthJson, secretFor, type BuildPodSpec, type PhaseTarget,
} from '../../server/cluster-build/pod.ts';
import { buildNodeAffinity } from '../../server/kube/placement.ts';
import { BUILDS_NODE_LABEL } from '../../server/kube/labels.ts';
import { buildRef, builderRunImage, cnbUser, evicted, explainContainer, tookTooLong, isLoopbackRegistry, isPlainHttpRegistry, platformEnv, pullRef, serverRef } from '../../server/cluster-build/refs.ts';
import { clusterBuildSettings, ownerId } from '../../server/cluster-build/settings.ts';
import { cacheImage } from '../../server/cluster-build/cache.ts';
import { loadConfig } from '../../server/config.ts';

const spec: BuildPodSpec = {
  name: 'build-0a1b2c3d', owner: 'f00dfeed12345678', builderImage: '127.0.0.1:5000/slipway/builder:abc',
  registry: '127.0.0.1:5000', hostNetwork: true, uid: 1001, gid: 1000,
  cpu: '1', memory: '2Gi', disk: '10Gi', deadlineSeconds: 900, authSecret: 'build-0a1b2c3d-registry',
};
const target: PhaseTarget = {
  imageRepo: '127.0.0.1:5000/slipway/web', tags: ['build-7'], cacheImage: '127.0.0.1:5000/slipway-cache/web', registry: '127.0.0.1:5000', insecureRegistry: true,
};

test('a build pod is two idle containers, as the builder user without a token or privileges, naming no app', () => {
  const pod = buildPod(spec);
  assert.equal(pod.metadata.namespace, BUILD_NAMESPACE);
  assert.equal(pod.spec?.initContainers, undefined);
  assert.deepEqual(pod.spec?.containers.map((c) => c.name), ['registry', 'build']);
  assert.equal(pod.spec?.restartPolicy, 'Never');
  assert.equal(pod.spec?.activeDeadlineSeconds, 900);
  assert.equal(pod.spec?.automountServiceAccountToken, false);
  assert.equal(pod.spec?.enableServiceLinks, false);
  assert.equal(pod.spec?.securityContext?.runAsNonRoot, true);
  assert.equal(pod.spec?.securityContext?.runAsUser, 1001);
  assert.equal(pod.spec?.securityContext?.runAsGroup, 1000);
  assert.equal(pod.spec?.hostNetwork, true);
  assert.equal(pod.spec?.dnsPolicy, 'Default');
  for (const c of pod.spec!.containers) {
    assert.equal(c.image, spec.builderImage);
    assert.deepEqual(c.resources?.limits, { cpu: '1', memory: '2Gi' }, c.name);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(c.command?.[0], 'sh');
  }
  // The build's own work is in `build`: its request is the whole of SLIPWAY_BUILD_CPU/MEMORY.
  assert.deepEqual(pod.spec!.containers[1]!.resources?.requests, { cpu: '1', memory: '2Gi' });
  assert.equal(pod.metadata.labels?.['slipway/build-owner'], spec.owner);
  assert.equal(pod.metadata.labels?.['slipway/app'], undefined);
  assert.ok(!JSON.stringify(pod).includes('slipway/web'), 'nothing of the app is in the pod');
  assert.match(ownedSelector(spec.owner), /slipway\/build-owner=f00dfeed12345678/);
});

test('every scratch volume of a build pod is bounded: /workspace and /layers by SLIPWAY_BUILD_DISK, /platform small, the rest in memory (issue 35, item 8)', () => {
  const volumes = buildPod(spec).spec!.volumes!;
  for (const v of volumes) assert.ok(v.emptyDir?.sizeLimit, `${v.name} has no size limit`);
  assert.deepEqual(Object.fromEntries(volumes.map((v) => [v.name, v.emptyDir!.sizeLimit])), { workspace: '10Gi', layers: '10Gi', platform: '64Mi', report: '1Mi', meta: '4Mi' });
  assert.equal(clusterBuildSettings(loadConfig({})).disk, '10Gi');
  assert.equal(clusterBuildSettings(loadConfig({ SLIPWAY_BUILD_DISK: '20Gi' })).disk, '20Gi');
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_DISK: 'lots' }), /SLIPWAY_BUILD_DISK must be a storage size like 512Mi, 10Gi or 1Ti, got "lots"\.$/);
  // A pod evicted for a volume past its size is told as the build's doing; the node's own pressure is not.
  assert.equal(evicted('Usage of EmptyDir volume "layers" exceeds the limit "10Gi". ', '10Gi'), 'The build wrote more than the 10Gi a build\'s /workspace or /layers may hold (SLIPWAY_BUILD_DISK) and was stopped.');
  assert.equal(evicted('The node was low on resource: ephemeral-storage.', '10Gi'), 'The build pod was evicted by its node (The node was low on resource: ephemeral-storage); push again.');
});

test('only the container of the phases that talk to the registry has its credential; detect and build (the app\'s code) run where there is none', () => {
  const pod = buildPod(spec);
  const all = pod.spec!.containers;
  const withAuth = all.filter((c) => c.env?.some((e) => e.name === 'CNB_REGISTRY_AUTH')).map((c) => c.name);
  assert.deepEqual(withAuth, ['registry']);
  for (const c of all) {
    for (const e of c.env ?? []) if (e.name === 'CNB_REGISTRY_AUTH') assert.deepEqual(e.valueFrom?.secretKeyRef, { name: spec.authSecret, key: 'CNB_REGISTRY_AUTH' });
  }
  assert.deepEqual(PHASES.map((p) => phaseExec(p, target, 'mark').container), ['registry', 'build', 'registry', 'build', 'registry']);
  assert.deepEqual(phaseExec('detect', target, 'mark').command, ['/cnb/lifecycle/detector']);
  // The build phase kills what the app's build left running, keeping the builder's exit code.
  const build = phaseExec('build', target, 'mark').command;
  assert.deepEqual(build.slice(0, 2), ['sh', '-c']);
  assert.match(build[2]!, /kill -s KILL -1.*exit \$code/);
  assert.equal(build[3], '/cnb/lifecycle/builder');
  // The export phase prints its report after the mark, only when it succeeded.
  const exp = phaseExec('export', target, 'mark-123').command;
  assert.match(exp[2]!, /\|\| exit \$\?; echo; echo mark-123; cat \/report\/report.toml$/);
  assert.deepEqual(exp.slice(3), ['/cnb/lifecycle/exporter', ...phaseArgs('export', target)]);
  // The credential is never a volume any container could read; the report only the registry container sees.
  assert.ok(!pod.spec!.volumes!.some((v) => v.secret));
  assert.ok(!all[1]!.volumeMounts!.some((m) => m.name === 'report'));
  // analyzed.toml names the image export builds on: the phases with the credential keep it where
  // the app's build code cannot write, and hand detect and build a copy (a link there removed, not followed).
  assert.deepEqual(all.map((c) => c.volumeMounts!.some((m) => m.mountPath === '/meta')), [true, false]);
  for (const p of ['analyze', 'restore', 'export'] as const) {
    const args = phaseArgs(p, target);
    assert.equal(args[args.indexOf('-analyzed') + 1], ANALYZED_PATH, p);
  }
  for (const p of ['analyze', 'restore'] as const) {
    const cmd = phaseExec(p, target, 'mark').command;
    assert.match(cmd[2]!, /^"\$0" "\$@" \|\| exit \$\?; rm -f \/layers\/analyzed\.toml && cp \/meta\/analyzed\.toml \/layers\/analyzed\.toml$/);
    assert.deepEqual(cmd.slice(3), [`/cnb/lifecycle/${p === 'analyze' ? 'analyzer' : 'restorer'}`, ...phaseArgs(p, target)]);
  }
  const noAuth = buildPod({ ...spec, authSecret: undefined } as BuildPodSpec);
  assert.ok(!noAuth.spec!.containers.some((c) => c.env?.some((e) => e.name === 'CNB_REGISTRY_AUTH')));
  // Onto the build nodes when one is labelled; no affinity at all otherwise.
  assert.equal(pod.spec!.affinity, undefined);
  const affinity = buildNodeAffinity([{ metadata: { labels: { [BUILDS_NODE_LABEL]: 'true' } } }]);
  assert.deepEqual(buildPod({ ...spec, affinity }).spec!.affinity, affinity);
  assert.deepEqual(affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [{ matchExpressions: [{ key: BUILDS_NODE_LABEL, operator: 'In', values: ['true'] }] }]);
});

test('the phases publish latest and the release tag, with the cache image, to a plain-HTTP registry only when it is one', () => {
  assert.deepEqual(phaseArgs('export', target), [
    '-insecure-registry', '127.0.0.1:5000', '-analyzed', '/meta/analyzed.toml', '-cache-image', target.cacheImage, '-process-type', 'web', '-report', '/report/report.toml',
    '127.0.0.1:5000/slipway/web:latest', '127.0.0.1:5000/slipway/web:build-7',
  ]);
  assert.deepEqual(phaseArgs('analyze', { ...target, insecureRegistry: false }), ['-analyzed', '/meta/analyzed.toml', '-cache-image', target.cacheImage, '127.0.0.1:5000/slipway/web:latest']);
  assert.deepEqual(phaseArgs('analyze', { ...target, insecureRegistry: false, runImage: '10.44.0.1:5000/slipway/run:1' }), ['-analyzed', '/meta/analyzed.toml', '-run-image', '10.44.0.1:5000/slipway/run:1', '-cache-image', target.cacheImage, '127.0.0.1:5000/slipway/web:latest']);
  assert.deepEqual(phaseArgs('restore', target), ['-insecure-registry', '127.0.0.1:5000', '-analyzed', '/meta/analyzed.toml', '-cache-image', target.cacheImage]);
  assert.deepEqual(phaseArgs('build', target), []);
  assert.deepEqual(PHASES, ['analyze', 'detect', 'restore', 'build', 'export']);
  assert.equal(cacheImage('10.0.0.5:5000', 'web'), '10.0.0.5:5000/slipway-cache/web');
  assert.equal(isLoopbackRegistry('127.0.0.1:5000'), true);
  assert.equal(isLoopbackRegistry('10.0.0.5:5000'), false);
});

test('the per-build Secret holds CNB_REGISTRY_AUTH for that registry only and belongs to the pod', () => {
  assert.equal(buildSecret(spec, { username: 'slipway', password: 's3cret' }, undefined).metadata.ownerReferences, undefined);
  const sec = buildSecret(spec, { username: 'slipway', password: 's3cret' }, 'uid-1');
  assert.equal(sec.metadata.name, secretFor(spec.name));
  assert.equal(sec.metadata.namespace, BUILD_NAMESPACE);
  assert.deepEqual(sec.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Pod', name: spec.name, uid: 'uid-1', blockOwnerDeletion: false }]);
  assert.deepEqual(JSON.parse(sec.stringData!.CNB_REGISTRY_AUTH!), { '127.0.0.1:5000': `Basic ${Buffer.from('slipway:s3cret').toString('base64')}` });
  assert.equal(registryAuthJson('r:1', { username: 'a', password: 'b' }), '{"r:1":"Basic YTpi"}');
});

/** A cluster's network with these node addresses (the rest as loadConfig's defaults). */
const net = (nodeAddresses: string[]) => ({ ...loadConfig({}).network, nodeAddresses });

test('the builds\' NetworkPolicy lets nothing in and only DNS and the registry out', () => {
  const np = buildNetworkPolicy('10.0.0.5:5000', net(['10.0.0.5/32']));
  assert.equal(np.metadata.namespace, BUILD_NAMESPACE);
  assert.deepEqual(np.spec?.podSelector, {});
  assert.deepEqual(np.spec?.policyTypes, ['Ingress', 'Egress']);
  assert.deepEqual(np.spec?.ingress, []);
  const [dns, registry] = np.spec!.egress!;
  assert.deepEqual(dns?.ports, [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
  assert.deepEqual(registry, { to: [{ ipBlock: { cidr: '10.0.0.5/32' } }], ports: [{ protocol: 'TCP', port: 5000 }] });
  assert.equal(np.spec!.egress!.length, 2);
  // A registry by name: its port, on whatever address the name has.
  assert.deepEqual(buildNetworkPolicy('registry.example.com', net([])).spec!.egress![1], { ports: [{ protocol: 'TCP', port: 443 }] });
});

test('the builds\' NetworkPolicy adds each SLIPWAY_BUILD_EGRESS entry, on its port or on all, and nothing else', () => {
  const egress = loadConfig({ SLIPWAY_BUILD_EGRESS: '203.0.113.9/32:443, 198.51.100.0/24' }).buildEgress;
  const np = buildNetworkPolicy('10.44.0.1:5000', net(['10.44.0.1/32']), egress);
  assert.deepEqual(np.spec!.egress!.slice(1), [
    { to: [{ ipBlock: { cidr: '10.44.0.1/32' } }], ports: [{ protocol: 'TCP', port: 5000 }] },
    { to: [{ ipBlock: { cidr: '203.0.113.9/32' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    { to: [{ ipBlock: { cidr: '198.51.100.0/24' } }] },
  ]);
  // No entry opens the pod range, the Services or any node: only DNS reaches a node's address.
  const peers = np.spec!.egress!.slice(1).flatMap((r) => r.to ?? []).map((p) => p.ipBlock?.cidr);
  assert.ok(!peers.some((c) => c?.startsWith('10.42.') || c?.startsWith('10.43.')), JSON.stringify(peers));
  assert.equal(buildNetworkPolicy('10.44.0.1:5000', net([])).spec!.egress!.length, 2);
  // `internet`: everything but the pods, the Services, the nodes and the metadata ranges.
  const open = buildNetworkPolicy('10.44.0.1:5000', net(['10.44.0.1/32']), loadConfig({ SLIPWAY_BUILD_EGRESS: 'internet:443' }).buildEgress).spec!.egress![2]!;
  assert.deepEqual(open.ports, [{ protocol: 'TCP', port: 443 }]);
  const v4 = open.to!.find((p) => p.ipBlock?.cidr === '0.0.0.0/0')!.ipBlock!;
  for (const c of ['10.42.0.0/16', '10.43.0.0/16', '10.44.0.1/32', '169.254.0.0/16']) assert.ok(v4.except?.includes(c), `${c} in ${JSON.stringify(v4.except)}`);
  // The default: the internet over HTTP and HTTPS; `none`: nothing more; bad entries: one sentence.
  assert.deepEqual(loadConfig({}).buildEgress, [{ cidr: 'internet', port: 80 }, { cidr: 'internet', port: 443 }]);
  assert.deepEqual(loadConfig({ SLIPWAY_BUILD_EGRESS: 'none' }).buildEgress, []);
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_EGRESS: 'internet:99999' }), /internet:PORT, got "internet:99999": the port must be 1-65535\./);
});

test('build registry: the pods export to its address, plain HTTP when loopback or named in SLIPWAY_REGISTRY_HTTP; the release keeps the server\'s name', () => {
  const c = loadConfig({ SLIPWAY_REGISTRY: '127.0.0.1:5000', SLIPWAY_BUILD_REGISTRY: '10.44.0.1:5000', SLIPWAY_REGISTRY_HTTP: '10.44.0.1:5000' });
  assert.equal(c.buildRegistry, '10.44.0.1:5000');
  assert.equal(c.registryPull, '127.0.0.1:5000');
  const s = clusterBuildSettings(c);
  assert.equal(s.buildRegistry, '10.44.0.1:5000');
  assert.equal(isPlainHttpRegistry(s.buildRegistry, s.registryHttp), true);
  assert.equal(isPlainHttpRegistry('10.44.0.1:5000', []), false);
  assert.equal(isPlainHttpRegistry('127.0.0.1:5000', []), true);
  assert.equal(isPlainHttpRegistry('Registry.Local:5000', ['registry.local:5000']), true);
  assert.equal(isPlainHttpRegistry('registry.local:5001', ['registry.local:5000']), false);
  // The digest the pod published, named as the server (and the deployer's mapping to the nodes) knows it.
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.equal(serverRef(`10.44.0.1:5000/slipway/web@${digest}`, s), `127.0.0.1:5000/slipway/web@${digest}`);
  assert.equal(serverRef(`10.44.0.1:50001/slipway/web@${digest}`, s), `10.44.0.1:50001/slipway/web@${digest}`);
  assert.equal(serverRef(`127.0.0.1:5000/slipway/web@${digest}`, clusterBuildSettings(loadConfig({}))), `127.0.0.1:5000/slipway/web@${digest}`);
  // The builder's run image, named by the server's address in its run.toml, as the pod reaches it.
  assert.equal(buildRef('127.0.0.1:5000/slipway/run:2f9f', s), '10.44.0.1:5000/slipway/run:2f9f');
  assert.equal(buildRef('docker.io/heroku/heroku:24', s), undefined);
  assert.equal(buildRef('127.0.0.1:5000/slipway/run:2f9f', clusterBuildSettings(loadConfig({}))), undefined, 'the same address: nothing to say');
  const meta = (m: object) => ({ 'io.buildpacks.builder.metadata': JSON.stringify(m) });
  assert.equal(builderRunImage(meta({ images: [{ image: 'r/run:1', mirrors: null }], stack: { runImage: { image: '' } } })), 'r/run:1');
  assert.equal(builderRunImage(meta({ stack: { runImage: { image: 'r/old-run' } } })), 'r/old-run');
  assert.equal(builderRunImage({}), undefined);
  assert.equal(builderRunImage({ 'io.buildpacks.builder.metadata': '{not json' }), undefined);
  // Defaults: the nodes' address, then the server's.
  assert.equal(loadConfig({ SLIPWAY_REGISTRY: 'r:1', SLIPWAY_REGISTRY_PULL: 'n:1' }).buildRegistry, 'n:1');
  assert.equal(loadConfig({ SLIPWAY_REGISTRY: 'r:1' }).buildRegistry, 'r:1');
  assert.deepEqual(loadConfig({}).registryHttp, []);
  assert.deepEqual(loadConfig({}).buildEgress, [{ cidr: 'internet', port: 80 }, { cidr: 'internet', port: 443 }]);
});

test('a build pod runs on the node\'s network only for a loopback build registry; the lifecycle gets -insecure-registry for it', () => {
  const pod = buildPod({ ...spec, registry: '10.44.0.1:5000', hostNetwork: false });
  assert.equal(pod.spec?.hostNetwork, false);
  assert.equal(pod.spec?.dnsPolicy, 'ClusterFirst');
  assert.equal(pod.spec?.automountServiceAccountToken, false);
  const t: PhaseTarget = { imageRepo: '10.44.0.1:5000/slipway/web', tags: [], cacheImage: '10.44.0.1:5000/slipway-cache/web', registry: '10.44.0.1:5000', insecureRegistry: true };
  assert.deepEqual(phaseArgs('restore', t), ['-insecure-registry', '10.44.0.1:5000', '-analyzed', '/meta/analyzed.toml', '-cache-image', '10.44.0.1:5000/slipway-cache/web']);
  assert.deepEqual(JSON.parse(buildSecret({ ...spec, registry: '10.44.0.1:5000' }, { username: 'u', password: 'p' }, undefined).stringData!.CNB_REGISTRY_AUTH!), { '10.44.0.1:5000': `Basic ${Buffer.from('u:p').toString('base64')}` });
});

test('SLIPWAY_BUILD_REGISTRY, SLIPWAY_REGISTRY_HTTP and SLIPWAY_BUILD_EGRESS are checked, one sentence each', () => {
  assert.equal(loadConfig({ SLIPWAY_BUILD_REGISTRY: 'Registry.Example.com' }).buildRegistry, 'registry.example.com');
  assert.equal(loadConfig({ SLIPWAY_BUILD_REGISTRY: '[fd00::1]:5000' }).buildRegistry, '[fd00::1]:5000');
  assert.deepEqual(loadConfig({ SLIPWAY_REGISTRY_HTTP: ' a.local:5000 ,10.0.0.5:5000,a.local:5000' }).registryHttp, ['a.local:5000', '10.0.0.5:5000']);
  assert.deepEqual(loadConfig({ SLIPWAY_BUILD_EGRESS: '10.0.0.0/8,203.0.113.9:443,fd00::/64:8443,fd00::1' }).buildEgress,
    [{ cidr: '10.0.0.0/8' }, { cidr: '203.0.113.9/32', port: 443 }, { cidr: 'fd00::/64', port: 8443 }, { cidr: 'fd00::1/128' }]);
  const oneSentence = (env: Record<string, string>, re: RegExp) => assert.throws(() => loadConfig(env), (err: Error) => re.test(err.message) && err.message.split('\n').length === 1 && err.message.endsWith('.'));
  oneSentence({ SLIPWAY_BUILD_REGISTRY: 'http://r:5000' }, /^SLIPWAY_BUILD_REGISTRY must be a registry address like registry\.example\.com or 10\.0\.0\.5:5000 .*got "http:\/\/r:5000"\.$/);
  oneSentence({ SLIPWAY_BUILD_REGISTRY: 'r:99999' }, /^SLIPWAY_BUILD_REGISTRY must be a registry address/);
  oneSentence({ SLIPWAY_REGISTRY_HTTP: '10.0.0.5' }, /^SLIPWAY_REGISTRY_HTTP must be HOST:PORT addresses .*got "10\.0\.0\.5"\.$/);
  oneSentence({ SLIPWAY_REGISTRY_HTTP: 'a:5000;b:5000' }, /^SLIPWAY_REGISTRY_HTTP must be HOST:PORT addresses/);
  oneSentence({ SLIPWAY_BUILD_EGRESS: '10.0.0.0/8:0' }, /^SLIPWAY_BUILD_EGRESS must be a comma-separated list of CIDR or CIDR:PORT .*got "10\.0\.0\.0\/8:0": the port must be 1-65535\.$/);
  oneSentence({ SLIPWAY_BUILD_EGRESS: '10.0.0.1/8' }, /^SLIPWAY_BUILD_EGRESS must be a comma-separated list of CIDR or CIDR:PORT .*bits set past its \/8 prefix/);
  oneSentence({ SLIPWAY_BUILD_EGRESS: 'registry.npmjs.org:443' }, /^SLIPWAY_BUILD_EGRESS must be a comma-separated list of CIDR or CIDR:PORT .*is not an address or a CIDR/);
});

test('doctor\'s probe pod takes the build pods\' network and, off the node\'s, connects to the build registry (its address as arguments, not as shell text)', () => {
  const onPods = probePod('doctor-2', 'owner1', 'reg/builder:1', { address: '10.44.0.1:5000', hostNetwork: false });
  assert.equal(onPods.spec?.hostNetwork, false);
  const cmd = onPods.spec!.containers[0]!.command!;
  assert.deepEqual(cmd.slice(0, 2), ['sh', '-c']);
  assert.deepEqual(cmd.slice(3), ['/cnb/lifecycle/detector', '10.44.0.1', '5000']);
  assert.ok(!cmd[2]!.includes('10.44.0.1'), cmd[2]);
  assert.deepEqual(probeCommand({ host: '[fd00::1]', port: 5000 }).slice(-2), ['fd00::1', '5000']);
  const onNode = probePod('doctor-3', 'owner1', 'reg/builder:1', { address: '127.0.0.1:5000', hostNetwork: true });
  assert.equal(onNode.spec?.hostNetwork, true);
  assert.equal(onNode.spec?.dnsPolicy, 'Default');
  assert.deepEqual(onNode.spec?.containers[0]?.command, ['/cnb/lifecycle/detector', '-version']);
});

test('builder user, owner id, pull address and platform env', () => {
  assert.deepEqual(cnbUser(['PATH=/bin', 'CNB_USER_ID=1002', 'CNB_GROUP_ID=1000']), { uid: 1002, gid: 1000 });
  assert.equal(cnbUser(['CNB_USER_ID=0', 'CNB_GROUP_ID=0']), undefined);
  assert.equal(cnbUser([]), undefined);
  assert.match(ownerId('/var/lib/slipway'), /^[0-9a-f]{16}$/);
  assert.notEqual(ownerId('/a'), ownerId('/b'));
  assert.equal(pullRef('127.0.0.1:5000/slipway/builder:x', { registry: '127.0.0.1:5000', registryPull: '10.0.0.5:5000' }), '10.0.0.5:5000/slipway/builder:x');
  assert.equal(pullRef('docker.io/heroku/builder:24', { registry: '127.0.0.1:5000', registryPull: '10.0.0.5:5000' }), 'docker.io/heroku/builder:24');
  assert.deepEqual(platformEnv({ A: '1', 'B-C': 'x', MULTI: 'a\nb' }), { files: [['A', '1'], ['MULTI', 'a\nb']], left: ['B-C'] });
});

test('a killed or failed phase becomes one sentence; OOMKilled names the memory limit', () => {
  const ctx = { memory: '256Mi', registry: '127.0.0.1:5000', minutes: 15, timeoutMs: 15 * 60_000 };
  const oom = explainContainer('build', { exitCode: 137, reason: 'OOMKilled' }, [], ctx);
  assert.match(oom, /OOMKilled/);
  assert.match(oom, /256Mi/);
  assert.equal(explainContainer('build', { exitCode: 137, reason: 'DeadlineExceeded' }, [], ctx), 'The build took longer than 15 minutes and was stopped (SLIPWAY_BUILD_TIMEOUT_S).');
  assert.equal(tookTooLong(7000), 'The build took longer than 7 seconds and was stopped (SLIPWAY_BUILD_TIMEOUT_S).');
  assert.equal(explainContainer('export', { exitCode: 1 }, ['something'], ctx), 'The build failed in its export phase (exit code 1); the output above says why.');
  assert.match(explainContainer('detect', { exitCode: 20 }, ['ERROR: No buildpack groups passed detection.'], ctx), /No buildpack detected/);
});

test('cluster build settings: backend, CPU, memory and concurrency are read once and checked', () => {
  const c = loadConfig({ SLIPWAY_BUILD_BACKEND: 'cluster', SLIPWAY_BUILD_CPU: '500m', SLIPWAY_BUILD_MEMORY: '1Gi', SLIPWAY_BUILD_CONCURRENCY: '3' });
  assert.equal(c.buildBackend, 'cluster');
  assert.equal(c.buildCpu, '500m');
  assert.equal(c.buildMemory, '1Gi');
  assert.equal(c.buildConcurrency, 3);
  const d = loadConfig({});
  assert.equal(d.buildBackend, 'pack');
  assert.equal(d.buildConcurrency, 2);
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_BACKEND: 'docker' }), /SLIPWAY_BUILD_BACKEND must be "pack" or "cluster", got "docker"\./);
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_MEMORY: 'lots' }), /SLIPWAY_BUILD_MEMORY must be a memory size/);
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_CONCURRENCY: '0' }), /SLIPWAY_BUILD_CONCURRENCY must be a whole number of at least 1/);
  assert.equal(d.buildSpare, true);
  assert.equal(loadConfig({ SLIPWAY_BUILD_SPARE: '0' }).buildSpare, false);
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_SPARE: 'yes' }), /SLIPWAY_BUILD_SPARE must be 0 or 1, got "yes"\./);
});

test('with the cluster backend doctor checks build pods instead of Docker, pack and the engine\'s builder image', async () => {
  const { doctorChecks } = await import('../../server/ops/admin/doctor.ts');
  const names = (env: Record<string, string>) => doctorChecks(loadConfig(env), {}).map((c) => c.name);
  assert.deepEqual(names({ SLIPWAY_BUILD_BACKEND: 'cluster' }).slice(0, 2), ['build pods', 'registry']);
  assert.ok(!names({ SLIPWAY_BUILD_BACKEND: 'cluster' }).some((n) => ['docker', 'pack', 'builder'].includes(n)));
  assert.deepEqual(names({}).slice(0, 3), ['docker', 'pack', 'builder']);
  const outcome = await doctorChecks(loadConfig({ SLIPWAY_BUILD_BACKEND: 'cluster' }), {})[0]!.run(new AbortController().signal);
  assert.equal(outcome.ok, false);
  assert.match(outcome.detail, /KUBECONFIG is not set/);
});

test('doctor\'s probe pod runs the builder\'s lifecycle with a platform API it knows, as a non-root user, briefly', async () => {
  const { probePod } = await import('../../server/cluster-build/pod.ts');
  const pod = probePod('doctor-1', 'owner1', 'reg/builder:1');
  assert.equal(pod.metadata.namespace, BUILD_NAMESPACE);
  assert.deepEqual(pod.spec?.containers[0]?.command, ['/cnb/lifecycle/detector', '-version']);
  assert.deepEqual(pod.spec?.containers[0]?.env, [{ name: 'CNB_PLATFORM_API', value: '0.13' }]);
  assert.equal(pod.spec?.automountServiceAccountToken, false);
  assert.equal(pod.spec?.securityContext?.runAsNonRoot, true);
  assert.equal(pod.spec?.activeDeadlineSeconds, 120);
});
