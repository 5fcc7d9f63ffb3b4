// An app's databases as Kubernetes objects, pure functions (database in, objects out): per
// database a Secret (credentials, TLS key and certificates), a data and a backup claim, a
// StatefulSet of one instance and a Service, all in the app's namespace under its guards
// (NetworkPolicies: only the app's own pods reach it; quota; Pod Security "restricted"). The
// images (images/) run as uid 999; the volumes are made theirs by fsGroup.
import type { KubeObject, V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service, V1StatefulSet } from '../kube/types.ts';
import { ANNOTATION, LABEL, MANAGED_BY, appLabels, namespaceFor } from '../kube/labels.ts';
import type { BackupRetention, DataKind, DataService } from '../model.ts';

/** Where each kind listens, keeps its data, and how the kubelet knows it is ready. */
const KINDS: Readonly<Record<DataKind, { port: number; dataPath: string; ready: string[]; env: (d: DataService) => Record<string, string>; restoreEnv: (target: string | undefined) => Record<string, string> }>> = {
  postgres: {
    port: 5432,
    dataPath: '/var/lib/slipway/postgres',
    ready: ['pg_isready', '-q', '-h', '/tmp', '-p', '5432'],
    env: (d) => ({ POSTGRES_USER: d.credentials.username, POSTGRES_PASSWORD: d.credentials.password, POSTGRES_DB: d.credentials.database, PG_MAX_CONNECTIONS: String(d.maxConnections), PG_ARCHIVE_TIMEOUT: String(d.archiveTimeoutS) }),
    restoreEnv: (target) => ({ PG_RESTORE_FROM: RESTORE_PATH, ...(target ? { PG_RESTORE_TARGET: target } : {}) }),
  },
  valkey: {
    port: 6379,
    dataPath: '/var/lib/slipway/valkey',
    ready: ['slipway-valkey', 'ping'],
    // The login: `default` (requirepass) until a rotation makes an ACL user (images/README.md).
    env: (d) => ({ VALKEY_USER: d.credentials.username, VALKEY_PASSWORD: d.credentials.password, VALKEY_MAXCLIENTS: String(d.maxConnections) }),
    // Its newest snapshot: Valkey has no archive to recover to a point in time from.
    restoreEnv: () => ({ VALKEY_RESTORE_FROM: RESTORE_PATH }),
  },
};

/**
 * The image's own commands Slipway runs in a database's pod (images/README.md): Postgres's backups
 * and their list, Valkey's snapshot; both kinds' verify (of the backups), heartbeat and
 * last-heartbeat; a restored copy's check (Postgres's amcheck, Valkey's check); Postgres's server-version and row-counts (an upgrade's checks), its dumps, imports and logins; both kinds' stats (volumes and connections).
 */
export type DataCommand = ['backup', 'full' | 'diff' | 'incr'] | ['backup', 'full' | 'diff' | 'incr', string] | ['backups'] | ['verify'] | ['heartbeat'] | ['last-heartbeat'] | ['amcheck'] | ['check'] | ['snapshot'] | ['server-version'] | ['row-counts'] | StreamCommand | ['login-retire', string] | ['stats'] | ['aof-on'];

/** The image's commands that take input or give output as bytes (a dump, an import, a new login's password on stdin: Postgres's acting as an owner, Valkey's an ACL user). */
export type StreamCommand = ['dump'] | ['import', string] | ['login-add', string, string] | ['login-add', string];

/** A backup's retention as the image's `backup` command takes it (images/README.md): `2` full backups, or `14d`. */
export function retentionArg(r: BackupRetention): string {
  return 'days' in r ? `${r.days}d` : String(r.fullBackups);
}

/** The argv of one of those in a kind's image. */
export function dataCommand(kind: DataKind, command: DataCommand): string[] {
  return [kind === 'postgres' ? 'slipway-postgres' : 'slipway-valkey', ...command];
}

/** The command in a database's image that starts its client as the app's user (images/README.md). */
export function consoleCommand(kind: DataKind): string[] {
  return kind === 'postgres' ? ['slipway-postgres', 'psql'] : ['slipway-valkey', 'cli'];
}

/** The pod of a database's StatefulSet (its one instance). */
export function dataPodName(name: string): string {
  return `${dataObjectName(name)}-0`;
}

/** The uid and gid the images run as (images/README.md). */
const DATA_UID = 999;
/** Where the backup volume is mounted in every kind's container. */
export const BACKUP_PATH = '/var/lib/slipway/backup';
const TLS_PATH = '/etc/slipway/tls';
/** Where a restoring instance finds the other instance's backup volume (read-only). */
const RESTORE_PATH = '/var/lib/slipway/restore-from';

/** The port a kind listens on (TLS only). */
export function dataPort(kind: DataKind): number {
  return KINDS[kind].port;
}

/** The name of a database's StatefulSet, Service and Secret (never a process type's Deployment or Service, nor a release's Secret). */
export function dataObjectName(name: string): string {
  return `db-${name}`;
}

/** A database's claims: `db-NAME.data` and `db-NAME.backup` (a dot no volume name of storage:create has). */
export function dataClaimName(name: string, which: 'data' | 'backup'): string {
  return `${dataObjectName(name)}.${which}`;
}

/**
 * The labels of a database's objects. Not the app's own selector (instance = the app): a deploy
 * prunes the app's Services and Deployments it does not make, and ps counts the app's pods.
 */
export function dataLabels(app: string, d: Pick<DataService, 'name' | 'kind'>): Record<string, string> {
  return { [LABEL.name]: d.kind, [LABEL.instance]: `${app}.${d.name}`, [LABEL.partOf]: app, [LABEL.managedBy]: MANAGED_BY, [LABEL.data]: d.name };
}

/** The selector of every database of an app (its data labels' common part). */
export function dataSelector(app: string): string {
  return `${LABEL.partOf}=${app},${LABEL.managedBy}=${MANAGED_BY},${LABEL.data}`;
}

/** The host name the app's pods reach a database at (its Service, in the app's namespace). */
export function dataHost(app: string, name: string): string {
  return `${dataObjectName(name)}.${namespaceFor(app)}.svc`;
}

/** Every name the database's certificate is valid for: the Service's short and long names. */
export function dataHostNames(app: string, name: string): string[] {
  const ns = namespaceFor(app);
  const svc = dataObjectName(name);
  return [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** The database's Secret: what its server is set up with, and its TLS files. */
export function dataSecretObject(d: DataService): KubeObject<V1Secret> {
  const env = KINDS[d.kind].env(d);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: dataObjectName(d.name), namespace: namespaceFor(d.app), labels: dataLabels(d.app, d) },
    type: 'Opaque',
    data: {
      ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, b64(v)])),
      'tls.key': b64(d.tls.key),
      'tls.crt': b64(d.tls.cert),
      'ca.crt': b64(d.tls.ca),
    },
  };
}

/** One of the database's two claims (ReadWriteOnce, its size, the class it was made with). */
export function dataClaimObject(d: DataService, which: 'data' | 'backup'): KubeObject<V1PersistentVolumeClaim> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: dataClaimName(d.name, which), namespace: namespaceFor(d.app), labels: dataLabels(d.app, d) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: d.size } },
      ...(d.storageClass ? { storageClassName: d.storageClass } : {}),
    },
  };
}

/** The Service the app's pods connect to. */
export function dataServiceObject(d: DataService): KubeObject<V1Service> {
  const port = KINDS[d.kind].port;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: dataObjectName(d.name), namespace: namespaceFor(d.app), labels: dataLabels(d.app, d) },
    spec: { selector: { [LABEL.partOf]: d.app, [LABEL.data]: d.name }, ports: [{ name: d.kind, port, targetPort: port, protocol: 'TCP' }] },
  };
}

/**
 * The StatefulSet of one instance. Its pod meets Pod Security "restricted" (uid 999, no
 * capabilities, no privilege escalation, RuntimeDefault seccomp), mounts no service account
 * token, gets no Service links in its environment, and has limits inside the app's quota. A
 * deleted pod comes back on the same claims.
 */
export function dataStatefulSetObject(d: DataService, named: string = d.image): KubeObject<V1StatefulSet> {
  const kind = KINDS[d.kind];
  const name = dataObjectName(d.name);
  const labels = dataLabels(d.app, d);
  const secret = name;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    // The image as Slipway names it (`named`; d.image may be the nodes' pull address): addons:update compares it with the server's.
    metadata: { name, namespace: namespaceFor(d.app), labels, annotations: { [ANNOTATION.image]: named } },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: { [LABEL.partOf]: d.app, [LABEL.data]: d.name } },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser: DATA_UID, runAsGroup: DATA_UID, fsGroup: DATA_UID, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: d.kind,
            image: d.image,
            env: [
              ...Object.keys(kind.env(d)).map((k) => ({ name: k, valueFrom: { secretKeyRef: { name: secret, key: k } } })),
              ...Object.entries(d.restore ? kind.restoreEnv(d.restore.target) : {}).map(([name, value]) => ({ name, value })),
              ...(d.upgradeFrom ? [{ name: 'PG_UPGRADE_FROM', value: d.upgradeFrom }] : []),
            ],
            ports: [{ name: d.kind, containerPort: kind.port, protocol: 'TCP' }],
            resources: { limits: { memory: d.resources.memory, cpu: d.resources.cpu }, requests: { memory: d.resources.memory, cpu: '50m' } },
            readinessProbe: { exec: { command: kind.ready }, periodSeconds: 2, timeoutSeconds: 5, failureThreshold: 3 },
            // The entry script's last line (why it exited: a restore or an upgrade that failed) is
            // kept in the container's status, where the server reads it back.
            terminationMessagePolicy: 'FallbackToLogsOnError',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
            volumeMounts: [
              { name: 'data', mountPath: kind.dataPath },
              { name: 'backup', mountPath: BACKUP_PATH },
              { name: 'tls', mountPath: TLS_PATH, readOnly: true },
              ...(d.restore ? [{ name: 'restore-from', mountPath: RESTORE_PATH, readOnly: true }] : []),
            ],
          }],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: dataClaimName(d.name, 'data') } },
            d.scratchBackups ? { name: 'backup', emptyDir: { sizeLimit: d.size } } : { name: 'backup', persistentVolumeClaim: { claimName: dataClaimName(d.name, 'backup') } },
            // The current login too, as files the kubelet keeps up to date: a credential rotation
            // changes the Secret, not the running pod's environment, and the console, an import
            // and Valkey's probe read the login from here (images/README.md).
            { name: 'tls', secret: { secretName: secret, defaultMode: 0o440, items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }, { key: 'ca.crt', path: 'ca.crt' }, ...LOGIN_FILES[d.kind]] } },
            ...(d.restore ? [{ name: 'restore-from', persistentVolumeClaim: { claimName: d.restore.fromClaim, readOnly: true } }] : []),
          ],
        },
      },
    },
  };
}

/** The Secret's keys each kind's pod mounts as its current login's files. */
const LOGIN_FILES: Readonly<Record<DataKind, { key: string; path: string }[]>> = {
  postgres: [{ key: 'POSTGRES_USER', path: 'login/user' }, { key: 'POSTGRES_PASSWORD', path: 'login/password' }],
  valkey: [{ key: 'VALKEY_USER', path: 'login/user' }, { key: 'VALKEY_PASSWORD', path: 'login/password' }],
};

/** The line of a failed container's termination message (its log's end) that says why: the entry script's last `slipway-…:` line, else the last line; at most 300 characters. */
export function exitReason(message: string | undefined): string | undefined {
  const lines = (message ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.findLast((l) => /^slipway-(postgres|valkey): /.test(l)) ?? lines.at(-1);
  return line?.replace(/^slipway-(postgres|valkey): /, '').slice(0, 300);
}

/** What a scratch copy of a database is for: a restore drill, or a preview's copy of its latest backup (previews:config --fork-db). */
const SCRATCH_PURPOSES = ['drill', 'fork'] as const;
export type ScratchPurpose = (typeof SCRATCH_PURPOSES)[number];

/** Whether a pod's data label (`PURPOSE.NAME`, drillPodObject) marks a scratch copy rather than a database's own pod. */
export function isScratchLabel(value: string | undefined): boolean {
  return SCRATCH_PURPOSES.some((purpose) => value?.startsWith(`${purpose}.`));
}

/** The name of a database's scratch pod (a restore drill's, or a fork's: deleted when it ends). */
export function drillPodName(name: string, purpose: ScratchPurpose = 'drill'): string {
  return `${dataObjectName(name)}-${purpose}`;
}

/** A scratch pod's CPU request: Kubernetes' smallest CPU weight (2 shares), against a database's 50m. */
export const SCRATCH_CPU_REQUEST = '2m';

/**
 * A scratch pod (a restore drill's, or a fork's): the database's own pod spec (image, Secret,
 * limits, security), restoring from its backup volume (`d.restore`) into scratch space of its
 * size instead of claims, never restarted, never reached by a Service (its `slipway/data` label
 * is `drill.NAME` or `fork.NAME`, which no database name can be), and gone with its data when deleted.
 */
export function drillPodObject(d: DataService, purpose: ScratchPurpose = 'drill'): KubeObject<V1Pod> {
  const set = dataStatefulSetObject(d);
  const spec = set.spec!.template.spec!;
  const labels = { ...dataLabels(d.app, d), [LABEL.data]: `${purpose}.${d.name}` };
  const scratch = { emptyDir: { sizeLimit: d.size } };
  // The least CPU weight there is: where the live databases beside it want the CPU, they get it
  // first (its limit stays the database's, so alone it runs as fast).
  const containers = spec.containers.map((c) => ({ ...c, resources: { ...c.resources, requests: { ...c.resources?.requests, cpu: SCRATCH_CPU_REQUEST } } }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: drillPodName(d.name, purpose), namespace: namespaceFor(d.app), labels },
    spec: {
      ...spec,
      restartPolicy: 'Never',
      containers,
      volumes: spec.volumes!.map((v) => (v.name === 'data' || v.name === 'backup' ? { name: v.name, ...scratch } : v)),
    },
  };
}

/**
 * Everything a database is, in apply order: its Secret and claims before its pod, then the
 * Service; and the authority's ConfigMap the app's pods mount (a release applies it too; a `run`
 * before the app's next release needs it already).
 */
export function dataObjects(d: DataService, named: string = d.image): KubeObject[] {
  return [dataSecretObject(d), dataClaimObject(d, 'data'), ...(d.scratchBackups ? [] : [dataClaimObject(d, 'backup')]), dataStatefulSetObject(d, named), dataServiceObject(d), dataCaObject(d.app, d.tls.ca)];
}

/** The ConfigMap holding the certificate of the app's databases' authority, which every pod of an app with databases mounts. */
export const DATA_CA_MAP = 'slipway-data-ca';
/** Where the app's pods find it (`ca.crt`), read-only. */
export const DATA_CA_DIR = '/etc/slipway/data-ca';
/** The file itself. */
export const DATA_CA_FILE = `${DATA_CA_DIR}/ca.crt`;

/** The ConfigMap of the app's databases' authority (a certificate: nothing secret in it). */
export function dataCaObject(app: string, cert: string): KubeObject<V1ConfigMap> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: DATA_CA_MAP, namespace: namespaceFor(app), labels: appLabels(app) }, data: { 'ca.crt': cert } };
}

/**
 * The URL the app's config var holds: TLS required (Postgres `sslmode=require`, Valkey
 * `rediss://`). A Postgres URL names the authority's certificate the app's pods mount
 * (`sslrootcert`): libpq then checks the server's certificate against it (with `require` too),
 * `sslmode=verify-full` checks the host name as well, and node-postgres, which reads the file
 * itself, verifies instead of refusing an unknown authority.
 */
export function dataUrl(app: string, d: Pick<DataService, 'name' | 'kind' | 'credentials'>): string {
  const host = dataHost(app, d.name);
  const user = encodeURIComponent(d.credentials.username);
  const pass = encodeURIComponent(d.credentials.password);
  if (d.kind === 'postgres') return `postgres://${user}:${pass}@${host}:${KINDS.postgres.port}/${encodeURIComponent(d.credentials.database)}?sslmode=require&sslrootcert=${DATA_CA_FILE}`;
  return `rediss://${user}:${pass}@${host}:${KINDS.valkey.port}`;
}
