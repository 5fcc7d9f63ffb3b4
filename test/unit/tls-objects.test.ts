import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployableRelease } from '../../server/model.ts';
import type { KubeObject, V1Ingress } from '../../server/kube/types.ts';
import { ACME_CHALLENGE, WEB, WEB_HTTPS, ingressObjects } from '../../server/deploy/network.ts';
import { redirectRef, tlsObjects, tlsSecretName } from '../../server/deploy/tls.ts';
import { acmeState } from '../../server/deploy/cert-status.ts';

const release: Pick<DeployableRelease, 'app' | 'domains' | 'tls'> = {
  app: 'myapp',
  domains: ['myapp.apps.test', 'www.example.com'],
  tls: { issuer: 'slipway-acme', uploaded: [] },
};
const rules = (i: KubeObject<V1Ingress>) => i.spec!.rules!.map((r) => `${r.host}${r.http!.paths[0]!.path}`);

test('before any certificate is there, one plain Ingress serves every host and lists its TLS Secret', () => {
  const [web, ...rest] = ingressObjects(release);
  assert.equal(rest.length, 0);
  assert.equal(web!.metadata.name, WEB);
  assert.deepEqual(rules(web!), ['myapp.apps.test/', 'www.example.com/']);
  assert.equal(web!.metadata.annotations, undefined);
  assert.deepEqual(web!.spec!.tls!.map((t) => t.secretName), [tlsSecretName('myapp.apps.test'), tlsSecretName('www.example.com')]);
});

test('a host with its certificate moves to web-https (the redirect), first; its ACME challenge path stays on web', () => {
  const [https, web] = ingressObjects(release, {}, new Set(['myapp.apps.test']));
  assert.equal(https!.metadata.name, WEB_HTTPS);
  assert.deepEqual(rules(https!), ['myapp.apps.test/']);
  assert.equal(https!.metadata.annotations!['traefik.ingress.kubernetes.io/router.middlewares'], redirectRef('myapp'));
  assert.equal(redirectRef('myapp'), 'slipway-myapp-https-redirect@kubernetescrd');
  // As Traefik's CRD provider registers the Middleware of a preview's namespace: `--` is one dash.
  assert.equal(redirectRef('shop--feature-x-1a2b3c4d'), 'slipway-shop-feature-x-1a2b3c4d-https-redirect@kubernetescrd');
  assert.deepEqual(rules(web!), ['www.example.com/', `myapp.apps.test${ACME_CHALLENGE}`]);
  assert.equal(web!.metadata.annotations, undefined);
});

test('without a TLS plan nothing redirects and no TLS object is made', () => {
  const plain = { ...release, tls: undefined };
  assert.deepEqual(ingressObjects(plain, {}, new Set(['myapp.apps.test'])).map((i) => i.metadata.name), [WEB]);
  assert.deepEqual(tlsObjects(plain), []);
});

test('a self-check failure names the URL and the underlying error even when the message is long', () => {
  const url = `http://lost.example.com/.well-known/acme-challenge/${'t'.repeat(43)}`;
  const reason = `Waiting for HTTP-01 challenge propagation: failed to perform self check GET request '${url}': Get "${url}": dial tcp 127.0.0.81:80: connect: connection refused`;
  assert.ok(reason.length > 300);
  const s = acmeState('lost.example.com', { status: { conditions: [] } }, [{ spec: { dnsName: 'lost.example.com' }, status: { state: 'pending', reason } }], undefined);
  assert.equal(s.state, 'failed');
  assert.equal(s.detail, 'the HTTP-01 challenge cannot be reached (retrying): http://lost.example.com/.well-known/acme-challenge/…: dial tcp 127.0.0.81:80: connect: connection refused');
});
