// A canary's objects (pure: release in, objects out). The app's Ingresses keep routing to the web
// Service (the serving set) throughout; a canary adds, in the app's namespace, a Service for the
// canary's set (`web-canary`), a Traefik weighted service over both Services with a sticky cookie
// (`canary-split`: one client stays on one set), and an IngressRoute for the app's hosts that
// sends their requests to it, at a priority above the Ingresses' routers. Deleting that one
// IngressRoute puts every request back on the Ingresses, that is on the serving set: the abort is
// one write.
import type { KubeObject, ObjectOptions, V1Service } from '../kube/types.ts';
import type { DeployableRelease } from '../model.ts';
import { LABEL, appLabels, namespaceFor, processSelector } from '../kube/labels.ts';
import { ACME_CHALLENGE, WEB } from './network.ts';
import { REDIRECT } from './tls.ts';

/** The canary's Service, which selects its set of web instances only. */
export const CANARY_SERVICE = 'web-canary';
/** The weighted service over the serving set's Service and the canary's. */
export const CANARY_SPLIT = 'canary-split';
/** The IngressRoute that sends the app's hosts to the split. */
export const CANARY_ROUTE = 'web-canary';
/** The cookie that keeps a client on one set. */
export const CANARY_COOKIE = 'slipway-canary';
/**
 * Above every router the app's Ingresses make (Traefik's default priority is the length of the
 * rule), below Traefik's own internal routers.
 */
export const CANARY_PRIORITY = 1_000_000;

/** The canary's Service: the web Service's port, selecting release `canary`'s set. */
export function canaryServiceObject(app: string, canary: number): KubeObject<V1Service> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: CANARY_SERVICE, namespace: namespaceFor(app), labels: { ...appLabels(app), [LABEL.process]: WEB } },
    spec: {
      type: 'ClusterIP',
      selector: { ...processSelector(app, WEB), [LABEL.release]: String(canary) },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** The weighted service: `weight` % to the canary's Service, the rest to the web Service, sticky by a cookie. */
export function splitObject(app: string, weight: number): KubeObject<{ spec: unknown }> {
  return {
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'TraefikService',
    metadata: { name: CANARY_SPLIT, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: {
      weighted: {
        services: [
          { name: WEB, port: 'http', weight: 100 - weight },
          { name: CANARY_SERVICE, port: 'http', weight },
        ],
        sticky: { cookie: { name: CANARY_COOKIE, httpOnly: true, sameSite: 'lax' } },
      },
    },
  };
}

/** A Traefik rule for hosts (backquoted: host names are DNS names, never a backquote). */
function hostRule(hosts: readonly string[]): string {
  return `(${hosts.map((h) => `Host(\`${h}\`)`).join(' || ')}) && !PathPrefix(\`${ACME_CHALLENGE}\`)`;
}

/**
 * The IngressRoute sending the app's hosts to the split, on every entry point the Ingresses are
 * on; hosts that redirect to HTTPS (`redirect`) keep their redirect Middleware, and ACME's
 * challenge path stays with the Ingresses (cert-manager's solver).
 */
export function canaryRouteObject(r: Pick<DeployableRelease, 'app' | 'domains'>, redirect: ReadonlySet<string>, opts: ObjectOptions = {}): KubeObject<{ spec: unknown }> {
  const plain = r.domains.filter((h) => !redirect.has(h));
  const secure = r.domains.filter((h) => redirect.has(h));
  const route = (hosts: readonly string[], middlewares: boolean) => ({
    kind: 'Rule',
    match: hostRule(hosts),
    priority: CANARY_PRIORITY,
    ...(middlewares ? { middlewares: [{ name: REDIRECT }] } : {}),
    services: [{ name: CANARY_SPLIT, kind: 'TraefikService' }],
  });
  return {
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'IngressRoute',
    metadata: {
      name: CANARY_ROUTE,
      namespace: namespaceFor(r.app),
      labels: appLabels(r.app),
      // The CRD provider filters by this annotation where an ingress class is set.
      ...(opts.ingressClass ? { annotations: { 'kubernetes.io/ingress.class': opts.ingressClass } } : {}),
    },
    spec: { routes: [...(plain.length ? [route(plain, false)] : []), ...(secure.length ? [route(secure, true)] : [])] },
  };
}
