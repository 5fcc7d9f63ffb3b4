// The pure parts of Slipway's own Kubernetes client (server/kube/): reading a kubeconfig (data and
// file forms, tokens, the users it refuses, a missing context), the paths discovery leads to, the
// URLs and queries sent, the model's renamed fields on the wire, and an exec's exit code. The
// client against a real API server is test/e2e/kube-client.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../server/errors.ts';
import { loadKubeconfig, parseKubeconfig } from '../../server/kube/kubeconfig.ts';
import { findResource, groupVersionPath, resourcePath } from '../../server/kube/discovery.ts';
import { KubeHttp, USER_AGENT } from '../../server/kube/http.ts';
import { fromWire, toWire } from '../../server/kube/wire.ts';
import { execExitCode, parseManifest } from '../../server/kube/client.ts';
import type { KubeObject, V1NetworkPolicy } from '../../server/kube/types.ts';
import { explain, KubeApiError } from '../../server/kube/api-error.ts';
import { PACKAGE_VERSION } from '../../server/config.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig of one cluster, user and context; `cluster` and `user` are the entries' YAML lines. */
function kubeconfig(cluster: string[], user: string[], extra = ''): string {
  return [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: c', '  cluster:', ...cluster.map((l) => `    ${l}`),
    'users:', '- name: u', '  user:', ...(user.length ? user.map((l) => `    ${l}`) : ['    {}']),
    'contexts:', '- name: ctx', '  context:', '    cluster: c', '    user: u', extra,
    'current-context: ctx', '',
  ].join('\n');
}

const noFiles = (file: string): Buffer => { throw new Error(`ENOENT: no such file, open '${file}'`); };

/** The UserError a kubeconfig's text is refused with. */
function refusal(text: string, readFile = noFiles): string {
  try {
    parseKubeconfig(text, '/etc/k.yaml', readFile);
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err.message;
  }
  assert.fail('the kubeconfig was accepted');
}

test('a kubeconfig with data: the server, CA, client certificate and key, tls-server-name; no Authorization', () => {
  const t = parseKubeconfig(kubeconfig(
    ['server: https://10.0.0.1:6443', `certificate-authority-data: ${b64('CA PEM')}`, 'tls-server-name: kubernetes'],
    [`client-certificate-data: ${b64('CERT PEM')}`, `client-key-data: ${b64('KEY PEM')}`],
    '    namespace: team'), '/etc/k.yaml', noFiles);
  assert.equal(t.server, 'https://10.0.0.1:6443');
  assert.equal(t.namespace, 'team');
  assert.deepEqual([t.tls.ca?.toString(), t.tls.cert?.toString(), t.tls.key?.toString(), t.tls.rejectUnauthorized, t.tls.servername], ['CA PEM', 'CERT PEM', 'KEY PEM', true, 'kubernetes']);
  assert.equal(t.authorization(), undefined);
});

test('a kubeconfig naming files: read relative to its own folder, as kubectl does; -data wins over a file', () => {
  const read: string[] = [];
  const t = parseKubeconfig(kubeconfig(
    ['server: https://k.example:6443', 'certificate-authority: ca.crt'],
    ['client-certificate: /abs/client.crt', 'client-key: keys/client.key', `client-key-data: ${b64('KEY DATA')}`]), '/etc/kube/config', (f) => { read.push(f); return Buffer.from(`file ${f}`); });
  assert.deepEqual(read, ['/etc/kube/ca.crt', '/abs/client.crt']);
  assert.deepEqual([t.tls.ca?.toString(), t.tls.cert?.toString(), t.tls.key?.toString()], ['file /etc/kube/ca.crt', 'file /abs/client.crt', 'KEY DATA']);
  assert.equal(t.namespace, 'default');
});

test('loadKubeconfig reads the files a kubeconfig names; a token file wins over a token and is read again later', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-kubeconfig-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), 'CA FROM FILE');
    writeFileSync(join(dir, 'token'), 'file-token\n');
    writeFileSync(join(dir, 'config'), kubeconfig(['server: https://127.0.0.1:6443', 'certificate-authority: ca.pem'], ['token: inline-token', 'tokenFile: token']));
    const t = loadKubeconfig(join(dir, 'config'));
    assert.equal(t.tls.ca?.toString(), 'CA FROM FILE');
    assert.equal(t.authorization(), 'Bearer file-token');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a token, or a user name and password, becomes the Authorization header; an http:// server needs no TLS', () => {
  const token = parseKubeconfig(kubeconfig(['server: http://127.0.0.1:8001'], ['token: abc.def']), '/k', noFiles);
  assert.equal(token.authorization(), 'Bearer abc.def');
  assert.equal(token.server, 'http://127.0.0.1:8001');
  const basic = parseKubeconfig(kubeconfig(['server: https://k:6443', 'insecure-skip-tls-verify: true'], ['username: admin', 'password: s3cret']), '/k', noFiles);
  assert.equal(basic.authorization(), `Basic ${b64('admin:s3cret')}`);
  assert.equal(basic.tls.rejectUnauthorized, false);
});

test('a user signing in through an exec plugin or an auth provider is refused in one sentence naming the kubeconfig', () => {
  const exec = ['exec:', '  apiVersion: client.authentication.k8s.io/v1', '  command: aws', '  args: [eks, get-token]'];
  assert.equal(refusal(kubeconfig(['server: https://k:6443'], exec)),
    'The kubeconfig /etc/k.yaml (KUBECONFIG) has its user u sign in through an exec plugin, which Slipway does not run; give the user a client certificate or a token instead.');
  assert.equal(refusal(kubeconfig(['server: https://k:6443'], ['auth-provider:', '  name: oidc'])),
    'The kubeconfig /etc/k.yaml (KUBECONFIG) has its user u sign in through an auth provider, which Slipway does not run; give the user a client certificate or a token instead.');
});

test('a kubeconfig without a usable current context, cluster, server or user is refused in one sentence', () => {
  const none = 'The kubeconfig /etc/k.yaml (KUBECONFIG) has no current context with a cluster.';
  assert.equal(refusal(kubeconfig(['server: https://k:6443'], []).replace('current-context: ctx', '')), none);
  assert.equal(refusal(kubeconfig(['server: https://k:6443'], []).replace('current-context: ctx', 'current-context: other')), none);
  assert.equal(refusal(kubeconfig(['server: https://k:6443'], []).replace('    cluster: c', '    cluster: gone')), none);
  assert.equal(refusal(''), none);
  assert.equal(refusal(kubeconfig(['server: k:6443'], [])), 'The kubeconfig /etc/k.yaml (KUBECONFIG) gives cluster c no server URL (http:// or https://).');
  assert.equal(refusal(kubeconfig(['server: https://k:6443'], []).replace('    user: u', '    user: nobody')), 'The kubeconfig /etc/k.yaml (KUBECONFIG) has no user nobody for its current context.');
  assert.equal(refusal(kubeconfig(['server: https://k:6443'], [`client-certificate-data: ${b64('C')}`])), 'The kubeconfig /etc/k.yaml (KUBECONFIG) gives its user u a client certificate without its key.');
  assert.equal(refusal(kubeconfig(['server: https://k:6443', 'certificate-authority: /nope/ca.crt'], [])), "The kubeconfig /etc/k.yaml (KUBECONFIG) names certificate-authority /nope/ca.crt, which cannot be read: ENOENT: no such file, open '/nope/ca.crt'.");
  assert.match(refusal('clusters: [unclosed'), /^The kubeconfig \/etc\/k\.yaml \(KUBECONFIG\) cannot be read: it is not YAML \(.+\)\.$/);
  assert.throws(() => loadKubeconfig('/nonexistent/kubeconfig'), { name: 'UserError', message: /^The kubeconfig \/nonexistent\/kubeconfig \(KUBECONFIG\) cannot be read: ENOENT: .+\.$/ });
});

test('discovery: a kind is found among its group version\'s top-level resources (not pods/log), with its scope', () => {
  const list = [
    { name: 'pods', kind: 'Pod', namespaced: true },
    { name: 'pods/log', kind: 'Pod', namespaced: true },
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
  ];
  assert.deepEqual(findResource('v1', [list[1]!, list[0]!], 'Pod'), { apiVersion: 'v1', name: 'pods', namespaced: true });
  assert.deepEqual(findResource('v1', list, 'Namespace'), { apiVersion: 'v1', name: 'namespaces', namespaced: false });
  assert.equal(findResource('v1', list, 'Deployment'), undefined);
});

test('paths: the core group under /api, the others under /apis; a namespace only for a namespaced kind; names encoded', () => {
  assert.equal(groupVersionPath('v1'), '/api/v1');
  assert.equal(groupVersionPath('cert-manager.io/v1'), '/apis/cert-manager.io/v1');
  assert.throws(() => groupVersionPath('../v1'), /not an apiVersion/);
  const deployments = { apiVersion: 'apps/v1', name: 'deployments', namespaced: true };
  assert.equal(resourcePath(deployments, 'slipway-shop', 'web'), '/apis/apps/v1/namespaces/slipway-shop/deployments/web');
  assert.equal(resourcePath(deployments, 'slipway-shop'), '/apis/apps/v1/namespaces/slipway-shop/deployments');
  assert.equal(resourcePath(deployments, undefined), '/apis/apps/v1/deployments', 'a list of every namespace');
  const nodes = { apiVersion: 'v1', name: 'nodes', namespaced: false };
  assert.equal(resourcePath(nodes, 'ignored', 'node-1'), '/api/v1/nodes/node-1');
  assert.equal(resourcePath(nodes, undefined, 'a/b?c'), '/api/v1/nodes/a%2Fb%3Fc');
});

test('URLs keep the server\'s own path prefix; a list in a query repeats its name; undefined is left out', () => {
  const http = new KubeHttp(parseKubeconfig(kubeconfig(['server: https://rancher.example/k8s/clusters/c-1/'], ['token: t']), '/k', noFiles));
  try {
    const url = http.url('/api/v1/namespaces/x/pods/p/exec', { command: ['sh', '-c', 'echo a&b'], container: 'web', tty: false, tailLines: undefined });
    assert.equal(url.href, 'https://rancher.example/k8s/clusters/c-1/api/v1/namespaces/x/pods/p/exec?command=sh&command=-c&command=echo+a%26b&container=web&tty=false');
    assert.deepEqual(http.headers(), { 'user-agent': `slipway/${PACKAGE_VERSION}`, authorization: 'Bearer t' });
    assert.equal(USER_AGENT, `slipway/${PACKAGE_VERSION}`);
    assert.deepEqual([http.requestCount, http.requestsByVerb], [0, {}]);
    http.count('GET');
    http.count('WATCH');
    http.count('GET');
    assert.deepEqual([http.requestCount, http.requestsByVerb], [3, { GET: 2, WATCH: 1 }]);
  } finally {
    http.close();
  }
});

test('the model\'s renamed fields: a NetworkPolicy\'s `_from` and a LimitRange\'s `_default` go out under their API names and come back', () => {
  const policy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec: { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }] }, { ports: [{ port: 80 }] }], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] } };
  const wire = toWire(policy);
  assert.deepEqual(wire.spec.ingress, [{ from: [{ podSelector: {} }] }, { ports: [{ port: 80 }] }]);
  assert.deepEqual(wire.spec.egress, policy.spec.egress);
  assert.deepEqual(policy.spec.ingress[0], { _from: [{ podSelector: {} }] }, 'the caller\'s object is left as it was');
  assert.deepEqual(fromWire(wire), policy);
  // List items carry no kind: the list's kind is given.
  const item = { metadata: { name: 'limits' }, spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] } };
  assert.deepEqual(fromWire(item, 'LimitRange'), { metadata: { name: 'limits' }, spec: { limits: [{ type: 'Container', _default: { cpu: '500m' } }] } });
  const secret = { kind: 'Secret', data: { from: 'eA==', default: 'eQ==' } };
  assert.equal(toWire(secret), secret, 'other kinds pass as they are');
  const [parsed] = parseManifest('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  ingress:\n  - from: [{podSelector: {}}]\n---\n') as KubeObject<V1NetworkPolicy>[];
  assert.deepEqual(parsed!.spec, { ingress: [{ _from: [{ podSelector: {} }] }] });
});

test('an exec\'s exit code: 0 on Success, the ExitCode cause otherwise, none without one', () => {
  assert.equal(execExitCode({ status: 'Success' }), 0);
  assert.equal(execExitCode({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } }), 3);
  assert.equal(execExitCode({ status: 'Failure', message: 'container not found' }), undefined);
});

test('an API error keeps its HTTP status and Status body, and reads as the sentences callers show', () => {
  const forbidden = new KubeApiError(403, { kind: 'Status', code: 403, message: 'pods is forbidden: User "x" cannot list resource "pods"' }, 'GET /api/v1/pods');
  assert.deepEqual([forbidden.code, (forbidden.body as { code: number }).code], [403, 403]);
  assert.equal(explain('https://k:6443', 'list Pods in slipway-shop', forbidden).message, 'The kubeconfig\'s user may not list Pods in slipway-shop (403 Forbidden: pods is forbidden: User "x" cannot list resource "pods").');
  assert.equal(explain('https://k:6443', 'list Pods', new KubeApiError(401, 'Unauthorized', 'GET')).message, 'The kubeconfig\'s user may not list Pods: the Kubernetes API at https://k:6443 refused its credentials (401 Unauthorized).');
  const down = explain('https://k:6443', 'list Pods', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }));
  assert.ok(down instanceof UserError);
  assert.equal(down.message, 'The Kubernetes API at https://k:6443 is not reachable: ECONNREFUSED.');
  assert.equal(explain('https://k:6443', 'read Pod p', new KubeApiError(500, 'etcd timeout', 'GET')).message, 'Kubernetes: read Pod p failed with HTTP 500: etcd timeout');
});
