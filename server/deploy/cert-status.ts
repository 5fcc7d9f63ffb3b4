// What cert-manager's objects say about one host's certificate, in the words `certs` shows:
// issued, pending (what it waits for) or failed (the ACME error in one sentence). Pure.
import { X509Certificate } from 'node:crypto';
import type { HostCert } from '../shapes/domains.ts';

interface Condition { type?: string; status?: string; reason?: string; message?: string }
/** The fields read of a cert-manager Certificate. */
export interface CertificateLike { metadata?: { name?: string; resourceVersion?: string }; spec?: { dnsNames?: string[]; secretName?: string }; status?: { conditions?: Condition[]; notAfter?: string } }
/** The fields read of an ACME Challenge. */
export interface ChallengeLike { spec?: { dnsName?: string; type?: string }; status?: { state?: string; reason?: string; presented?: boolean; processing?: boolean } }

/** Whether a Certificate has its Ready condition true. */
export function certificateReady(c: CertificateLike | undefined): boolean {
  return c?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
}

/** The first sentence of a controller message, without Kubernetes' wrapping, at most 300 characters. */
export function oneSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

/** The issuer's common name (else its whole name) and expiry of the first certificate of a PEM chain. */
export function describePem(pem: string): { issuer: string; notAfter: string; subjectAltName: string } {
  const c = new X509Certificate(pem);
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(c.issuer)?.[1];
  return { issuer: cn ?? c.issuer.replace(/\n/g, ', '), notAfter: new Date(c.validTo).toISOString(), subjectAltName: c.subjectAltName ?? '' };
}

/** The state of an ACME host from its Certificate, its Challenges and (if issued) its certificate PEM. */
export function acmeState(host: string, cert: CertificateLike | undefined, challenges: readonly ChallengeLike[], pem: string | undefined): HostCert {
  if (cert && certificateReady(cert) && pem) {
    const d = describePem(pem);
    return { host, state: 'issued', source: 'acme', issuer: d.issuer, notAfter: cert.status?.notAfter ?? d.notAfter };
  }
  if (!cert) return { host, state: 'pending', source: 'acme', detail: 'waiting for its Certificate to be created (deploy the app)' };
  const ch = challenges.find((c) => c.spec?.dnsName === host);
  if (ch) {
    const raw = (ch.status?.reason ?? '').replace(/\s+/g, ' ').trim();
    const reason = oneSentence(raw);
    if (ch.status?.state === 'invalid' || ch.status?.state === 'errored' || ch.status?.state === 'expired') {
      return { host, state: 'failed', source: 'acme', detail: `the ACME server refused the HTTP-01 challenge: ${reason || ch.status.state}` };
    }
    // cert-manager checks http://HOST/.well-known/acme-challenge/… itself before asking the CA;
    // while that fails (DNS not pointed here, port 80 closed) it retries forever: the host
    // cannot get a certificate until the reason is fixed, so it is shown as failed.
    if (/self check|propagation/i.test(raw) && /fail|error|refused|timeout|no such host|wrong status/i.test(raw)) {
      // The underlying error is the end of Go's message (`Get "URL": dial tcp …: connection
      // refused`), read from the whole message: the URL alone can take 300 characters.
      const cause = oneSentence(/Get "[^"]*": (.*)$/.exec(raw)?.[1] ?? raw);
      const url = /GET request '([^']+)'/.exec(raw)?.[1];
      return { host, state: 'failed', source: 'acme', detail: `the HTTP-01 challenge cannot be reached (retrying): ${url ? `${url.replace(/[^/]+$/, '…')}: ` : ''}${cause}` };
    }
    return { host, state: 'pending', source: 'acme', detail: ch.status?.presented ? 'waiting for the ACME server to validate the HTTP-01 challenge' : 'waiting for the HTTP-01 challenge to be served' };
  }
  const issuing = cert.status?.conditions?.find((x) => x.type === 'Issuing');
  const ready = cert.status?.conditions?.find((x) => x.type === 'Ready');
  if (issuing?.status === 'False' && issuing.reason === 'Failed') return { host, state: 'failed', source: 'acme', detail: oneSentence(issuing.message ?? 'the certificate request failed') };
  return { host, state: 'pending', source: 'acme', detail: oneSentence(issuing?.message || ready?.message || 'waiting for cert-manager to order it') };
}
