// Kind → resource, by API discovery as kubectl does it: the resource list of a group version
// (GET /api/v1 or /apis/GROUP/VERSION), asked once per group version and kept; a kind missing
// from a kept list asks again (a CustomResourceDefinition installed since). The paths of objects
// and lists are built here from what discovery said.
import { KubeApiError } from './api-error.ts';
import type { KubeHttp } from './http.ts';

/** A kind's resource: its plural name in URLs and whether its objects live in namespaces. */
export interface Resource {
  apiVersion: string;
  /** e.g. `deployments`. */
  name: string;
  namespaced: boolean;
}

/** One entry of an APIResourceList. */
interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** The path of a group version: /api/v1 for the core group, /apis/GROUP/VERSION for the others. */
export function groupVersionPath(apiVersion: string): string {
  if (!/^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?[a-z0-9]+$/i.test(apiVersion)) throw new Error(`not an apiVersion: ${JSON.stringify(apiVersion)}`);
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * The path of a resource's collection (no `name`) or of one object, in `namespace` when the kind
 * is namespaced (a namespaced kind without a namespace: every namespace's, as a list; a
 * cluster-scoped kind ignores the namespace).
 */
export function resourcePath(r: Resource, namespace: string | undefined, name?: string): string {
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(r.apiVersion)}${ns}/${r.name}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** The resource of `kind` in a discovery answer: a top-level resource (no subresource like pods/log), if any. */
export function findResource(apiVersion: string, list: readonly ApiResource[], kind: string): Resource | undefined {
  const r = list.find((x) => x.kind === kind && !x.name.includes('/'));
  return r && { apiVersion, name: r.name, namespaced: r.namespaced === true };
}

/** The kinds of each group version the API server serves, asked once each. */
export class Discovery {
  readonly #http: KubeHttp;
  readonly #lists = new Map<string, Promise<ApiResource[]>>();

  constructor(http: KubeHttp) {
    this.#http = http;
  }

  /**
   * The resource of `kind` in `apiVersion`. A group version the server does not serve (a CRD
   * not installed) is a KubeApiError 404 saying so, as the API would answer for a missing
   * object: read() gives undefined, remove() false, list() the explained error.
   */
  async resource(apiVersion: string, kind: string): Promise<Resource> {
    const known = this.#lists.get(apiVersion);
    const found = known && findResource(apiVersion, await known.catch(() => []), kind);
    if (found) return found;
    const fresh = this.#fetch(apiVersion);
    this.#lists.set(apiVersion, fresh);
    // A failed discovery is not kept: the next call asks again.
    fresh.catch(() => { if (this.#lists.get(apiVersion) === fresh) this.#lists.delete(apiVersion); });
    const resource = findResource(apiVersion, await fresh, kind);
    if (!resource) throw new Error(`the Kubernetes API ${apiVersion} has no kind ${kind}`);
    return resource;
  }

  async #fetch(apiVersion: string): Promise<ApiResource[]> {
    try {
      const list = await this.#http.json<{ resources?: ApiResource[] }>({ method: 'GET', path: groupVersionPath(apiVersion) });
      return list.resources ?? [];
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) {
        throw new KubeApiError(404, { kind: 'Status', code: 404, message: `the cluster serves no ${apiVersion} API (is its CustomResourceDefinition installed?)` }, `GET ${groupVersionPath(apiVersion)}`);
      }
      throw err;
    }
  }
}
