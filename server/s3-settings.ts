// The settings of the S3-compatible endpoint Slipway copies its own backups to (issue 38), parsed
// for server/config.ts (which reads them, with every other setting, from the environment).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from './errors.ts';
import { readPrivateFile } from './private-file.ts';
import { loopback } from './oidc-settings.ts';

/** Where backups are copied: an S3 bucket (and a prefix in it) at an endpoint, and how to sign in. */
export interface S3Target {
  /** The endpoint's origin, `https://s3.example.com` (path-style requests: the bucket is in the path). */
  endpoint: string;
  bucket: string;
  /** The keys' common start inside the bucket, `` or ending in `/`. */
  prefix: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Certificate authorities (PEM) to trust for the endpoint besides the system's; undefined: the system's only. */
  ca: string | undefined;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** SLIPWAY_BACKUP_S3_URL: `https://ENDPOINT/BUCKET[/PREFIX]` (http:// only on loopback). */
export function s3Url(raw: string | undefined, name: string): Pick<S3Target, 'endpoint' | 'bucket' | 'prefix'> | undefined {
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined; // Not a URL at all: the sentence below says what is wanted.
  }
  const [bucket = '', ...rest] = (url?.pathname ?? '').split('/').filter(Boolean);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback(url))) || url.search || url.hash || url.username || url.password || !BUCKET.test(bucket)) {
    throw new UserError(`${name} must be the endpoint's https:// URL with the bucket (and a folder in it) as its path, like https://s3.eu-central-1.amazonaws.com/my-bucket/slipway (http:// only on loopback; the credential goes in SLIPWAY_BACKUP_S3_CREDENTIALS), got "${raw}".`);
  }
  return { endpoint: url.origin, bucket, prefix: rest.length ? `${rest.join('/')}/` : '' };
}

/** SLIPWAY_BACKUP_S3_REGION: the region name requests are signed for (`us-east-1`, `eu-central-1`, `garage`…). */
export function s3Region(raw: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(raw)) throw new UserError(`${name} must be a region name like us-east-1, got "${raw}".`);
  return raw;
}

/** SLIPWAY_BACKUP_S3_CREDENTIALS: a file holding `ACCESS_KEY_ID:SECRET_ACCESS_KEY` on one line, readable by its owner only. */
export function s3Credentials(given: string | undefined, name: string): Pick<S3Target, 'accessKeyId' | 'secretAccessKey'> | undefined {
  if (!given) return undefined;
  const { path, content } = readPrivateFile(given, name);
  const m = /^([A-Za-z0-9._-]{3,128}):(\S{8,256})$/.exec(content.trim());
  if (!m) throw new UserError(`${name} ${path} must hold ACCESS_KEY_ID:SECRET_ACCESS_KEY on one line.`);
  return { accessKeyId: m[1]!, secretAccessKey: m[2]! };
}

/** SLIPWAY_BACKUP_S3_CA: a file of PEM certificates to trust for the endpoint (a private endpoint's authority). */
export function s3Ca(given: string | undefined, name: string): string | undefined {
  if (!given) return undefined;
  const path = resolve(given);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`${name} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new UserError(`${name} ${path} holds no PEM certificate.`);
  return text;
}

/** The S3 settings as one, checked together: a URL needs its credential, and the credential or CA need a URL. */
export function s3Target(raw: { url: ReturnType<typeof s3Url>; region: string; credentials: ReturnType<typeof s3Credentials>; ca: string | undefined }): Readonly<S3Target> | undefined {
  const { url, region, credentials, ca } = raw;
  if (!url) {
    if (credentials || ca) throw new UserError('SLIPWAY_BACKUP_S3_CREDENTIALS and SLIPWAY_BACKUP_S3_CA need SLIPWAY_BACKUP_S3_URL, the bucket backups are copied to.');
    return undefined;
  }
  if (!credentials) throw new UserError('SLIPWAY_BACKUP_S3_URL needs SLIPWAY_BACKUP_S3_CREDENTIALS, a file holding ACCESS_KEY_ID:SECRET_ACCESS_KEY.');
  return Object.freeze({ ...url, region, ...credentials, ca });
}
