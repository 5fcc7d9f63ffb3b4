import type { KubeObject, ObjectOptions, V1Ingress, V1Service } from '../kube/types.ts';
import type { DeployableRelease } from '../model.ts';
import { LABEL, appLabels, namespaceFor, processSelector } from '../kube/labels.ts';
import { redirectRef, tlsHosts } from './tls.ts';

/** Name of the web process's Deployment, Service and Ingress. */
export const WEB = 'web';

/**
 * The ClusterIP Service in front of the web pods: port 80 to their `http` port. With `serving`, it
 * selects only that release's set (cutover): moving this selector is what switches the traffic.
 */
export function serviceObject(r: Pick<DeployableRelease, 'app'>, serving?: number): KubeObject<V1Service> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: WEB, namespace: namespaceFor(r.app), labels: { ...appLabels(r.app), [LABEL.process]: WEB } },
    spec: {
      type: 'ClusterIP',
      selector: serving === undefined ? processSelector(r.app, WEB) : { ...processSelector(r.app, WEB), [LABEL.release]: String(serving) },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** Name of the Ingress for the hosts that redirect HTTP to HTTPS (their certificate is there). */
export const WEB_HTTPS = 'web-https';

/**
 * The Ingresses routing each of the app's domains (the default one first) to the web Service:
 * `web` for hosts served over HTTP, `web-https` (with the redirect Middleware) for hosts in
 * `redirect`, whose certificate is there (`web` keeps their ACME challenge path). Both list their
 * hosts' TLS Secrets. An Ingress with no
 * host is left out (pruned). `redirect` is what the cluster says, read just before.
 */
export function ingressObjects(r: Pick<DeployableRelease, 'app' | 'domains' | 'tls'>, opts: ObjectOptions = {}, redirect: ReadonlySet<string> = new Set()): KubeObject<V1Ingress>[] {
  const tls = tlsHosts(r);
  const plain = r.domains.filter((h) => !redirect.has(h) || !tls.has(h));
  const secure = r.domains.filter((h) => redirect.has(h) && tls.has(h));
  const out: KubeObject<V1Ingress>[] = [];
  // The redirecting one first: a host moving over is briefly in both, never in neither.
  if (secure.length) out.push(ingressObject(r.app, secure.map((h) => [h, '/']), opts, WEB_HTTPS, tls, { 'traefik.ingress.kubernetes.io/router.middlewares': redirectRef(r.app) }));
  // ACME challenge paths of redirecting hosts stay on plain HTTP (a longer rule, so Traefik
  // prefers it to `/`): HTTP-01 is defined on port 80, and a renewal must not depend on the
  // certificate it renews. cert-manager's solver Ingress (the token's own path) is longer still.
  const paths = [...plain.map((h): [string, string] => [h, '/']), ...secure.map((h): [string, string] => [h, ACME_CHALLENGE])];
  if (paths.length) out.push(ingressObject(r.app, paths, opts, WEB, tls));
  return out;
}

/** Where HTTP-01 challenges are served (RFC 8555 section 8.3). */
export const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/** One Ingress routing each (host, path prefix) to the web Service, with the TLS Secrets of the hosts that have one. */
function ingressObject(app: string, paths: readonly [string, string][], opts: ObjectOptions, name: string, tls: ReturnType<typeof tlsHosts>, annotations?: Record<string, string>): KubeObject<V1Ingress> {
  const hosts = [...new Set(paths.map(([h]) => h))];
  const withTls = hosts.filter((h) => tls.has(h));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: namespaceFor(app), labels: { ...appLabels(app), [LABEL.process]: WEB }, ...(annotations ? { annotations } : {}) },
    spec: {
      ...(opts.ingressClass ? { ingressClassName: opts.ingressClass } : {}),
      ...(withTls.length ? { tls: withTls.map((h) => ({ hosts: [h], secretName: tls.get(h)!.secret })) } : {}),
      rules: paths.map(([host, path]) => ({
        host,
        http: { paths: [{ path, pathType: 'Prefix', backend: { service: { name: WEB, port: { name: 'http' } } } }] },
      })),
    },
  };
}
