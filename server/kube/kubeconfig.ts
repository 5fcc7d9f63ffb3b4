// Reads a kubeconfig the way kubectl does for the forms Slipway supports: the current context's
// cluster (server, its CA as data or file, insecure-skip-tls-verify, tls-server-name) and user
// (client certificate and key as data or files, a token or token file, or a user name and
// password). A user that signs in through an exec plugin or an auth provider is refused: Slipway
// targets k3s and clusters whose kubeconfigs carry certificates or tokens, and running a
// kubeconfig's programs is not something a server should do unasked.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { yamlDocuments } from './yaml.ts';
import { UserError } from '../errors.ts';
import { log } from '../output/log.ts';

/** The TLS material of a connection to the API server. */
export interface KubeTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** False only with insecure-skip-tls-verify. */
  rejectUnauthorized: boolean;
  /** The name the server's certificate is checked against (tls-server-name), when not the URL's host. */
  servername?: string;
}

/** Where the API server is and how to talk to it, from the kubeconfig's current context. */
export interface KubeTarget {
  /** The API server's URL as the kubeconfig gives it (http:// or https://). */
  server: string;
  /** The context's namespace, else `default`: where a namespaced object without one goes. */
  namespace: string;
  tls: KubeTls;
  /** The Authorization header's value now (a token file is read again once a minute), if any. */
  authorization(): string | undefined;
}

/** How long a token read from a file is used before the file is read again (client-go's period). */
const TOKEN_FILE_TTL_MS = 60_000;

/** Reads and checks the kubeconfig at `path`; any problem is one UserError sentence naming the file. */
export function loadKubeconfig(path: string): KubeTarget {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`The kubeconfig ${path} (KUBECONFIG) cannot be read: ${(err as Error).message}.`, { cause: err });
  }
  return parseKubeconfig(text, path, (file) => readFileSync(file));
}

/**
 * The target of a kubeconfig's text (`path` names it in messages and anchors its relative file
 * names, as kubectl resolves them); `readFile` reads the files it names.
 */
export function parseKubeconfig(text: string, path: string, readFile: (file: string) => Buffer): KubeTarget {
  const where = `The kubeconfig ${path} (KUBECONFIG)`;
  let doc: unknown;
  try {
    // loadAll: an empty file is no document (load would call it an error), so no context.
    doc = yamlDocuments(text)[0];
  } catch (err) {
    throw new UserError(`${where} cannot be read: it is not YAML (${String((err as Error).message).split('\n')[0]}).`, { cause: err });
  }
  const config = (doc !== null && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
  // The entry named `name` of one of the kubeconfig's lists (its `key` part), if there is one.
  const find = (list: string, key: string, name: unknown): Record<string, unknown> | undefined => {
    const items = (Array.isArray(config[list]) ? config[list] : []) as (Record<string, unknown> | null)[];
    const found = typeof name === 'string' && name !== '' ? items.find((i) => i?.name === name) : undefined;
    return found ? ((found[key] ?? {}) as Record<string, unknown>) : undefined;
  };
  const current = config['current-context'];
  const context = find('contexts', 'context', current);
  const cluster = context && find('clusters', 'cluster', context.cluster);
  if (!context || !cluster) throw new UserError(`${where} has no current context with a cluster.`);
  const server = cluster.server;
  if (typeof server !== 'string' || !/^https?:\/\/[^/]/.test(server) || !URL.canParse(server)) {
    throw new UserError(`${where} gives cluster ${String(context.cluster)} no server URL (http:// or https://).`);
  }
  const userName = context.user;
  const user = userName === undefined || userName === '' ? {} : find('users', 'user', userName);
  if (!user) throw new UserError(`${where} has no user ${String(userName)} for its current context.`);
  for (const [field, how] of [['exec', 'an exec plugin'], ['auth-provider', 'an auth provider']] as const) {
    if (user[field] !== undefined && user[field] !== null) {
      throw new UserError(`${where} has its user ${String(userName)} sign in through ${how}, which Slipway does not run; give the user a client certificate or a token instead.`);
    }
  }
  const file = (field: string, value: unknown): Buffer => {
    const name = String(value);
    const full = isAbsolute(name) ? name : join(dirname(path), name);
    try {
      return readFile(full);
    } catch (err) {
      throw new UserError(`${where} names ${field} ${full}, which cannot be read: ${(err as Error).message}.`, { cause: err });
    }
  };
  // As in kubectl, the -data form wins over the file form of the same thing.
  const material = (dataField: string, fileField: string, from: Record<string, unknown>): Buffer | undefined => {
    const data = from[dataField];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
    const f = from[fileField];
    return typeof f === 'string' && f !== '' ? file(fileField, f) : undefined;
  };
  const tls: KubeTls = { rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true };
  const ca = material('certificate-authority-data', 'certificate-authority', cluster);
  const cert = material('client-certificate-data', 'client-certificate', user);
  const key = material('client-key-data', 'client-key', user);
  if ((cert === undefined) !== (key === undefined)) {
    throw new UserError(`${where} gives its user ${String(userName)} a client ${cert ? 'certificate without its key' : 'key without its certificate'}.`);
  }
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (typeof cluster['tls-server-name'] === 'string' && cluster['tls-server-name'] !== '') tls.servername = cluster['tls-server-name'];
  const namespace = typeof context.namespace === 'string' && context.namespace !== '' ? context.namespace : 'default';
  return { server, namespace, tls, authorization: credentials(user, file) };
}

/** The Authorization header a user sends: a token (its file read again once a minute), basic auth, or none. */
function credentials(user: Record<string, unknown>, file: (field: string, value: unknown) => Buffer): () => string | undefined {
  const token = typeof user.token === 'string' && user.token !== '' ? user.token : undefined;
  const tokenFile = typeof user.tokenFile === 'string' && user.tokenFile !== '' ? user.tokenFile : undefined;
  if (tokenFile) {
    // kubectl's rule: with both, the file's last good read wins; it is read now, so a kubeconfig
    // naming a missing file fails at start-up rather than on the first request.
    let cached = { value: file('tokenFile', tokenFile).toString('utf8').trim(), at: Date.now() };
    return () => {
      if (Date.now() - cached.at > TOKEN_FILE_TTL_MS) {
        try {
          cached = { value: file('tokenFile', tokenFile).toString('utf8').trim(), at: Date.now() };
        } catch (err) {
          // A file being rotated can be missing for a moment: the last token read goes on.
          log.warn('the kubeconfig\'s token file could not be read again; the last token read is used', { err });
          cached = { ...cached, at: Date.now() };
        }
      }
      return cached.value ? `Bearer ${cached.value}` : token && `Bearer ${token}`;
    };
  }
  if (token) return () => `Bearer ${token}`;
  if (typeof user.username === 'string' && user.username !== '') {
    const basic = `Basic ${Buffer.from(`${user.username}:${typeof user.password === 'string' ? user.password : ''}`).toString('base64')}`;
    return () => basic;
  }
  return () => undefined;
}
