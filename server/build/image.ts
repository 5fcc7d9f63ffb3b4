import type { RegistryAuth } from '../config.ts';
import type { ProcessType } from '../model.ts';

/** The manifest media types Slipway reads (OCI and Docker, single images and indexes). */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** An image reference split into registry host, repository path and tag or digest. */
export interface ImageRef { registry: string; repository: string; reference: string }

/** Splits `host:port/path/name@sha256:…` or `…:tag`. The registry part must be explicit. */
export function parseImageRef(ref: string): ImageRef {
  const slash = ref.indexOf('/');
  if (slash < 0) throw new Error(`image reference ${ref} names no registry`);
  const registry = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  return { registry, repository: rest, reference };
}

/** Registries on loopback are plain HTTP (as Docker treats them); everything else is HTTPS. */
export function registryBase(registry: string): string {
  const host = registry.replace(/:\d+$/, '');
  const insecure = host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  return `${insecure ? 'http' : 'https'}://${registry}`;
}

/** The Authorization header for the registry's basic authentication (none without a credential). */
export function registryAuthHeaders(auth: Readonly<RegistryAuth> | undefined): Record<string, string> {
  if (!auth) return {};
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

async function getJson(url: string, accept: string, auth: Readonly<RegistryAuth> | undefined): Promise<{ body: unknown; digest: string | null }> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept, ...registryAuthHeaders(auth) } });
  } catch (err) {
    throw new Error(`the registry at ${new URL(url).host} is not reachable`, { cause: err });
  }
  if (!res.ok) throw new Error(`the registry answered ${res.status} for ${url}`);
  return { body: await res.json(), digest: res.headers.get('docker-content-digest') };
}

interface Manifest { mediaType?: string; manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[]; config?: { digest: string }; layers?: { digest: string }[] }
interface ImageConfig { config?: { Labels?: Record<string, string>; Env?: string[] | null } }
interface BuildMetadata { processes?: { type: string; command: string[] | string; args?: string[] | null; default?: boolean }[] }

/** The processes a CNB image declares, from its `io.buildpacks.build.metadata` label. */
export function processesFromLabel(label: string | undefined, defaultType = 'web'): ProcessType[] {
  if (!label) return [];
  const meta = JSON.parse(label) as BuildMetadata;
  return (meta.processes ?? []).map((p) => ({
    type: p.type,
    command: Array.isArray(p.command) ? p.command : [p.command],
    args: p.args ?? [],
    default: p.default ?? p.type === defaultType,
  }));
}

/** An image's manifest (the linux/amd64 one of an index), its digest and where its blobs are. */
async function readManifest(ref: string, auth: Readonly<RegistryAuth> | undefined): Promise<{ base: string; manifest: Manifest; digest: string }> {
  const { registry, repository, reference } = parseImageRef(ref);
  const base = `${registryBase(registry)}/v2/${repository}`;
  let { body, digest } = await getJson(`${base}/manifests/${reference}`, MANIFEST_TYPES, auth);
  let manifest = body as Manifest;
  if (manifest.manifests) {
    const pick = manifest.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? manifest.manifests[0];
    if (!pick) throw new Error(`${ref} is an empty image index`);
    ({ body } = await getJson(`${base}/manifests/${pick.digest}`, MANIFEST_TYPES, auth));
    manifest = body as Manifest;
  }
  return { base, manifest, digest: digest ?? (reference.startsWith('sha256:') ? reference : '') };
}

/** Reads an image's manifest digest, labels and environment straight from the registry (with its credential, if it has one). */
export async function inspectImage(ref: string, auth?: Readonly<RegistryAuth>): Promise<{ digest: string; labels: Record<string, string>; env: string[] }> {
  const { base, manifest, digest } = await readManifest(ref, auth);
  if (!manifest.config) throw new Error(`${ref} has no image config`);
  const config = (await getJson(`${base}/blobs/${manifest.config.digest}`, 'application/json', auth)).body as ImageConfig;
  return { digest, labels: config.config?.Labels ?? {}, env: config.config?.Env ?? [] };
}

/** The digests of an image's layers, lowest first. */
export async function imageLayers(ref: string, auth?: Readonly<RegistryAuth>): Promise<string[]> {
  return ((await readManifest(ref, auth)).manifest.layers ?? []).map((l) => l.digest);
}

/** Whether `image` is built on `base`: its lowest layers are all of base's, in order. */
export async function builtOn(image: string, base: string, auth?: Readonly<RegistryAuth>): Promise<boolean> {
  const [mine, under] = await Promise.all([imageLayers(image, auth), imageLayers(base, auth)]);
  return under.length > 0 && under.every((digest, i) => mine[i] === digest);
}
