import type { KubeObject, ObjectOptions, V1Ingress, V1Service } from './kube-types.ts';
import type { DeployableRelease } from './deployer.ts';
import { LABEL, appLabels, namespaceFor, processSelector } from './labels.ts';

/** Name of the web process's Deployment, Service and Ingress. */
export const WEB = 'web';

/** The ClusterIP Service in front of the web pods: port 80 to their `http` port. */
export function serviceObject(r: Pick<DeployableRelease, 'app'>): KubeObject<V1Service> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: WEB, namespace: namespaceFor(r.app), labels: { ...appLabels(r.app), [LABEL.process]: WEB } },
    spec: {
      type: 'ClusterIP',
      selector: processSelector(r.app, WEB),
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** The Ingress routing each of the app's domains (the default one first) to the web Service. */
export function ingressObject(r: Pick<DeployableRelease, 'app' | 'domains'>, opts: ObjectOptions = {}): KubeObject<V1Ingress> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: WEB, namespace: namespaceFor(r.app), labels: { ...appLabels(r.app), [LABEL.process]: WEB } },
    spec: {
      ...(opts.ingressClass ? { ingressClassName: opts.ingressClass } : {}),
      rules: r.domains.map((host) => ({
        host,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: WEB, port: { name: 'http' } } } }] },
      })),
    },
  };
}
