import { createHash } from 'node:crypto';

// Recommended labels (app.kubernetes.io/*) follow the Kubernetes convention for an application
// made of components: the app is `name`/`instance`/`part-of`, each process type a `component`.
// Our own keys use the bare `slipway/` prefix (a valid DNS subdomain that names no host).

/** Label keys Slipway puts on everything it creates. */
export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  /** The process type (sanitised to a DNS label): `web`, `worker`, … */
  process: 'app.kubernetes.io/component',
  /** The release number, on pods and Secrets: selects one release's pods and config. */
  release: 'slipway/release',
  /** On the pods of `run` / `run:detached`: `interactive` or `detached`. */
  run: 'slipway/run',
  /** On a scheduled task's CronJob, its Jobs and their pods: the task's id (cron-spec.ts). */
  cron: 'slipway/cron',
  /** On a set of web instances kept warm outside the traffic after a deploy (`true`), for an instant rollback. */
  warm: 'slipway/warm',
  /** On a database's objects (data.ts): its name. */
  data: 'slipway/data',
} as const;

// Keys outside the two prefixes above, each kept for a reason: the node label is typed by admins
// (`kubectl label node … slipway.dev/builds=true`, docs/nodes.md), and the TLS objects of running
// installs carry theirs (renamed, pruning would no longer find them, and uploaded keys would stay).

/** The node label (value `true`) that marks a node for builds: build pods go there, app pods prefer other nodes. */
export const BUILDS_NODE_LABEL = 'slipway.dev/builds';
/** The label marking Slipway's TLS objects (Certificates, uploaded Secrets) with their host. */
export const TLS_LABEL = 'slipway.dev/tls';
/** The label of a build pod that names the app it builds; a spare (started before a push needs it) has none. */
export const BUILD_APP_LABEL = 'slipway/app';
/** The label of a build pod naming the server that made it (a hash of its data dir). */
export const BUILD_OWNER_LABEL = 'slipway/build-owner';

/** Annotation keys; none ever holds a config value. */
export const ANNOTATION = {
  /** The release version on the pod template (also rolls the pods when only config changed). */
  release: 'slipway/release',
  /** The process type exactly as the image declares it, when its name had to be sanitised. */
  processType: 'slipway/process-type',
  /** Set by ps:restart, under its own field manager, to roll pods without a new release. */
  restartedAt: 'slipway/restarted-at',
  /**
   * On an interactive one-off pod and a release pod: the process that waits on it (`host/pid/start
   * time`, see process.ts). A server starting after a crash removes those whose process is gone,
   * and leaves the local CLI's, which may be running now.
   */
  owner: 'slipway/owner',
  /** On a warm set of web instances: when (ISO time) its window ends and it is stopped. */
  warmUntil: 'slipway/warm-until',
  /** On a database's pod: when (ISO time) its Secret last changed (a credential rotation); the change makes the kubelet bring the Secret's files up to date now. */
  secretAt: 'slipway/secret-at',
  /** On the log collector's pod template: a hash of its configuration (a change of the drains rolls its pods). */
  configHash: 'slipway/config-hash',
  /** On a database's StatefulSet: the image it runs as Slipway names it (before a pull address replaced the registry's). */
  image: 'slipway/image',
} as const;

/** The field manager of every server-side apply of release objects. */
export const FIELD_MANAGER = 'slipway';
/** The field manager of ps:restart, so a later apply by FIELD_MANAGER leaves its annotation alone. */
export const RESTART_FIELD_MANAGER = 'slipway-restart';
/** The field manager of a warm set's label and window, so taking the set back into service removes exactly those. */
export const WARM_FIELD_MANAGER = 'slipway-warm';
/** The field manager of a database pod's secret-at annotation. */
export const SECRET_FIELD_MANAGER = 'slipway-secret';
/** The field manager of a sleeping web set's replicas (0 while it sleeps), so a deploy's apply takes them back. */
export const SLEEP_FIELD_MANAGER = 'slipway-sleep';
/**
 * The field manager that holds an autoscaled Deployment's replicas while FIELD_MANAGER lets go of
 * them (server-side apply's hand-over): the autoscaler takes them over with its first change.
 */
export const AUTOSCALE_FIELD_MANAGER = 'slipway-autoscale';
/** Value of app.kubernetes.io/managed-by. */
export const MANAGED_BY = 'slipway';

/**
 * Kubernetes' own keys on an EndpointSlice: the Service it belongs to (what the ingress reads), and
 * who manages it (the EndpointSlice controller leaves slices another manager marks alone).
 */
export const SLICE_LABEL = {
  service: 'kubernetes.io/service-name',
  managedBy: 'endpointslice.kubernetes.io/managed-by',
} as const;
/** The managed-by value of the EndpointSlice that points a sleeping app's web Service at the waker. */
export const SLICE_MANAGER = 'slipway-waker';

/**
 * The namespace an app runs in. One per app keeps names short (`web`, `env-v7`), lets destroy be a
 * single delete, and gives each app its own Pod Security level. App names are DNS labels of at
 * most 40 characters (names.ts), so `slipway-` + name stays a valid 63-character label.
 */
export function namespaceFor(app: string): string {
  return `slipway-${app}`;
}

/** The Secret holding release `version`'s config: `env-vN`. */
export function secretName(version: number): string {
  return `env-v${version}`;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;

/**
 * The Kubernetes name of a process type. CNB allows letters, digits, `.`, `_` and `-`, but
 * Deployment, container and Service names must be DNS labels: other names are lowercased and
 * dashed, and get a short hash of the original so `a_b` and `a.b` stay distinct.
 */
export function processName(type: string): string {
  if (DNS_LABEL.test(type)) return type;
  const base = type.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 30) || 'p';
  const hash = createHash('sha256').update(type).digest('hex').slice(0, 6);
  return `${base.replace(/-+$/, '')}-${hash}`;
}

/** Labels of everything that belongs to an app. */
export function appLabels(app: string): Record<string, string> {
  return { [LABEL.name]: app, [LABEL.instance]: app, [LABEL.partOf]: app, [LABEL.managedBy]: MANAGED_BY };
}

/** The pod selector of one process type: stable across releases (a Deployment's selector is immutable). */
export function processSelector(app: string, process: string): Record<string, string> {
  return { [LABEL.instance]: app, [LABEL.process]: process };
}

/** A label selector string (`k=v,k2=v2`) for list calls. */
export function selectorString(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The labels that select everything Slipway created for an app. */
export function appSelectorLabels(app: string): Record<string, string> {
  return { [LABEL.managedBy]: MANAGED_BY, [LABEL.instance]: app };
}

/** Selects everything Slipway created for an app. */
export function appSelector(app: string): string {
  return selectorString(appSelectorLabels(app));
}
