// HTTPS for an app's hosts, as Kubernetes objects (pure: release in, objects out). cert-manager
// issues one Certificate per host (its status is what `certs` and the push read back); uploaded
// certificates are TLS Secrets of the same name; Traefik serves whichever matches SNI from the
// Ingress's spec.tls, and redirects HTTP to HTTPS through a Middleware once a host's certificate
// is there (never before: a redirect to a host without a certificate breaks it).
import { createHash } from 'node:crypto';
import type { KubeObject, V1Secret } from '../kube/types.ts';
import type { DeployableRelease } from '../model.ts';
import { TLS_LABEL, appLabels, namespaceFor } from '../kube/labels.ts';
import { traefikName } from './ingress-sync.ts';

/** The Middleware that redirects to HTTPS, one per app namespace. */
export const REDIRECT = 'https-redirect';

/**
 * The Secret (and Certificate) name for a host: readable, unique by a hash suffix, and different
 * for an uploaded certificate (`cert-…`) than for an ACME one (`tls-…`): cert-manager deletes a
 * Certificate's Secret with it, so a host switching to an uploaded one must not share its name.
 */
export function tlsSecretName(host: string, source: 'acme' | 'uploaded' = 'acme'): string {
  const hash = createHash('sha256').update(host).digest('hex').slice(0, 8);
  return `${source === 'acme' ? 'tls' : 'cert'}-${host.replace(/\./g, '-').slice(0, 40).replace(/-+$/, '')}-${hash}`;
}

/** The hosts served over TLS, each with its Secret: uploaded ones, and all of them when automatic certificates are on. */
export function tlsHosts(r: Pick<DeployableRelease, 'domains' | 'tls'>): Map<string, { secret: string; source: 'acme' | 'uploaded' }> {
  const out = new Map<string, { secret: string; source: 'acme' | 'uploaded' }>();
  if (!r.tls) return out;
  const uploaded = new Set(r.tls.uploaded.map((u) => u.host));
  for (const host of r.domains) {
    if (uploaded.has(host)) out.set(host, { secret: tlsSecretName(host, 'uploaded'), source: 'uploaded' });
    else if (r.tls.issuer) out.set(host, { secret: tlsSecretName(host), source: 'acme' });
  }
  return out;
}

/**
 * The Traefik Middleware reference an Ingress annotation names (namespace-name@provider), as the
 * CRD provider registers the Middleware: normalized, so a preview's `--` is one dash there too (a
 * reference that is not would disable the app's HTTPS router).
 */
export function redirectRef(app: string): string {
  return `${traefikName(`${namespaceFor(app)}-${REDIRECT}`)}@kubernetescrd`;
}

/**
 * TLS objects of a release: the redirect Middleware, a cert-manager Certificate per ACME host and
 * a `kubernetes.io/tls` Secret per uploaded host. Empty without a TLS plan.
 */
export function tlsObjects(r: Pick<DeployableRelease, 'app' | 'domains' | 'tls'>): KubeObject[] {
  if (!r.tls) return [];
  const ns = namespaceFor(r.app);
  const labels = (host: string) => ({ ...appLabels(r.app), [TLS_LABEL]: tlsLabelFor(host) });
  // Permanent: 308 (301 for GET, as Traefik's redirectScheme has it). It only applies on routers
  // of hosts with a certificate; requests already on HTTPS pass through unchanged.
  const objects: KubeObject[] = [{
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'Middleware',
    metadata: { name: REDIRECT, namespace: ns, labels: appLabels(r.app) },
    spec: { redirectScheme: { scheme: 'https', permanent: true } },
  } as KubeObject];
  const uploaded = new Map(r.tls.uploaded.map((u) => [u.host, u]));
  for (const [host, t] of tlsHosts(r)) {
    if (t.source === 'uploaded') {
      const u = uploaded.get(host)!;
      objects.push({
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
        metadata: { name: t.secret, namespace: ns, labels: labels(host) },
        data: { 'tls.crt': Buffer.from(u.certPem).toString('base64'), 'tls.key': Buffer.from(u.keyPem).toString('base64') },
      } as KubeObject<V1Secret>);
    } else {
      objects.push({
        apiVersion: 'cert-manager.io/v1', kind: 'Certificate',
        metadata: { name: t.secret, namespace: ns, labels: labels(host) },
        spec: {
          secretName: t.secret,
          dnsNames: [host],
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: r.tls.issuer },
          // ECDSA P-256 (as Caddy does): a TLS handshake costs the server a fraction of RSA 2048's,
          // cert-manager's default. A new key at each renewal.
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
          // The Secret goes with the Certificate (certs:auto:disable, domains:remove).
          secretTemplate: { labels: labels(host) },
        },
      } as KubeObject);
    }
  }
  return objects;
}

/** The TLS_LABEL value for a host (a label value: at most 63 characters). */
export function tlsLabelFor(host: string): string {
  return host.slice(0, 63).replace(/[^a-z0-9.-]/g, '-').replace(/^[.-]+|[.-]+$/g, '') || 'host';
}
