// HTTPS of an app's hosts on the cluster: which hosts have their certificate (and so redirect),
// what `certs` shows, and the TLS objects a release no longer has.
import type { V1Ingress, V1Secret, KubeObject } from '../../kube/types.ts';
import { appSelector, appSelectorLabels, namespaceFor } from '../../kube/labels.ts';
import { cachedIn } from './cache.ts';
import type { TlsCertificates } from '../deployer.ts';
import type { HostCert } from '../../shapes/domains.ts';
import type { DeployableRelease } from '../../model.ts';
import { tlsHosts } from '../tls.ts';
import { TLS_LABEL } from '../../kube/labels.ts';
import { acmeState, certificateReady, describePem, type CertificateLike, type ChallengeLike } from '../cert-status.ts';
import { ingressObjects, WEB_HTTPS } from '../network.ts';
import { KubePart } from './context.ts';

export const CERTIFICATE = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate' } as const;
const CHALLENGE = { apiVersion: 'acme.cert-manager.io/v1', kind: 'Challenge' } as const;

/** The certificates of an app's hosts (cert-manager's objects, or uploaded) and the Ingresses that follow them. */
export class KubeTls extends KubePart implements TlsCertificates {
  /** Issued certificates' PEMs by Secret, with the version of the Certificate they were read at. */
  readonly #pems = new Map<string, { version: string; pem: string }>();

  /** The hosts whose certificate is there (uploaded, or its Certificate Ready): they redirect to HTTPS. */
  async redirectHosts(release: DeployableRelease): Promise<Set<string>> {
    const hosts = tlsHosts(release);
    if (hosts.size === 0) return new Set();
    const certs = await this.k.client.list<CertificateLike>(CERTIFICATE.apiVersion, CERTIFICATE.kind, namespaceFor(release.app), { labelSelector: appSelector(release.app) })
      .catch((err: unknown) => { throw new Error(`could not read the app's Certificates (is cert-manager installed?): ${(err as Error).message}`, { cause: err }); });
    const ready = new Set(certs.filter(certificateReady).map((c) => c.metadata?.name));
    return new Set([...hosts].filter(([, t]) => t.source === 'uploaded' || ready.has(t.secret)).map(([h]) => h));
  }

  /**
   * Deletes the Certificates and TLS Secrets the release no longer has (hosts removed, automatic
   * certificates off, uploaded ones removed). Certificates are only looked at with a TLS plan: without
   * one, cert-manager (whose kind they are) need not be installed at all.
   */
  async prune(release: DeployableRelease, keep: readonly KubeObject[]): Promise<void> {
    const ns = namespaceFor(release.app);
    const certs = new Set(keep.filter((o) => o.kind === CERTIFICATE.kind).map((o) => o.metadata.name));
    const secrets = new Set([...tlsHosts(release).values()].map((t) => t.secret));
    const selector = `${appSelector(release.app)},${TLS_LABEL}`;
    const [existingCerts, existingSecrets] = await Promise.all([
      release.tls ? this.k.client.list<KubeObject>(CERTIFICATE.apiVersion, CERTIFICATE.kind, ns, { labelSelector: selector }) : [],
      this.k.client.list<V1Secret>('v1', 'Secret', ns, { labelSelector: selector }),
    ]);
    // Without a plan the Certificates stay, and so do the Secrets cert-manager keeps for them
    // (it would only issue them again).
    const managed = (x: V1Secret) => !release.tls && x.metadata?.annotations?.['cert-manager.io/certificate-name'] !== undefined;
    await Promise.all([
      ...existingCerts.filter((c) => !certs.has(c.metadata.name)).map((c) => this.k.client.remove(CERTIFICATE.apiVersion, CERTIFICATE.kind, c.metadata.name, ns)),
      ...existingSecrets.filter((x) => !secrets.has(x.metadata!.name!) && !managed(x)).map((x) => this.k.client.remove('v1', 'Secret', x.metadata!.name!, ns)),
    ]);
  }

  /** Each host's certificate: uploaded (from the release), ACME (from cert-manager's objects), or none. */
  async certificates(release: DeployableRelease): Promise<HostCert[]> {
    const hosts = tlsHosts(release);
    const ns = namespaceFor(release.app);
    const acme = [...hosts.values()].some((t) => t.source === 'acme');
    const certs: CertificateLike[] = acme
      ? await cachedIn(this.k.cache.certificates, ns, appSelectorLabels(release.app)) ?? await this.k.client.list<CertificateLike>(CERTIFICATE.apiVersion, CERTIFICATE.kind, ns, { labelSelector: appSelector(release.app) })
      : [];
    // Challenges only say why a certificate is not there yet: not asked for when all are.
    const waiting = [...hosts.values()].some((t) => t.source === 'acme' && !certificateReady(certs.find((c) => c.metadata?.name === t.secret)));
    const challenges = waiting ? await this.k.client.list<ChallengeLike>(CHALLENGE.apiVersion, CHALLENGE.kind, ns) : [];
    return Promise.all(release.domains.map(async (host): Promise<HostCert> => {
      const t = hosts.get(host);
      if (!t) return { host, state: 'none' };
      if (t.source === 'uploaded') {
        const d = describePem(release.tls!.uploaded.find((u) => u.host === host)!.certPem);
        return { host, state: 'issued', source: 'uploaded', issuer: d.issuer, notAfter: d.notAfter };
      }
      const cert = certs.find((c) => c.metadata?.name === t.secret);
      const pem = certificateReady(cert) ? await this.#issuedPem(ns, t.secret, cert?.metadata?.resourceVersion) : undefined;
      return acmeState(host, cert, challenges, pem);
    }));
  }

  /**
   * The PEM an issued Certificate's Secret holds, read once per version of the Certificate (a
   * renewal changes its status, and so its version): apps:info does not read a Secret per call.
   */
  async #issuedPem(ns: string, secretName: string, version: string | undefined): Promise<string | undefined> {
    const key = `${ns}/${secretName}`;
    const known = this.#pems.get(key);
    if (version && known?.version === version) return known.pem;
    const secret = await this.k.client.read<V1Secret>('v1', 'Secret', secretName, ns);
    const crt = secret?.data?.['tls.crt'];
    const pem = crt ? Buffer.from(crt, 'base64').toString('utf8') : undefined;
    if (version && pem) this.#pems.set(key, { version, pem });
    return pem;
  }

  /** Applies the Ingresses again when the set of hosts with a certificate changed; true if it did. */
  async refreshTls(release: DeployableRelease): Promise<boolean> {
    if (!release.tls || !release.processes.some((p) => p.type === 'web')) return false;
    const redirect = await this.redirectHosts(release);
    const current = await this.k.client.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', WEB_HTTPS, namespaceFor(release.app));
    const now = new Set((current?.spec?.rules ?? []).map((r) => r.host));
    if (now.size === redirect.size && [...redirect].every((h) => now.has(h))) return false;
    const ingresses = ingressObjects(release, this.k.objectOptions(), redirect);
    for (const o of ingresses) await this.k.client.apply(o);
    const wanted = new Set(ingresses.map((o) => o.metadata.name));
    const existing = await this.k.client.list<KubeObject>('networking.k8s.io/v1', 'Ingress', namespaceFor(release.app), { labelSelector: appSelector(release.app) });
    await Promise.all(existing.filter((o) => !wanted.has(o.metadata.name)).map((o) => this.k.client.remove('networking.k8s.io/v1', 'Ingress', o.metadata.name, namespaceFor(release.app))));
    return true;
  }
}
