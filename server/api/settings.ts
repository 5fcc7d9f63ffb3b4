// An app's stored settings that what runs follows: domains, certificates, health checks,
// resources and quota, egress rules. Each change rolls out as a job (202) when the app runs,
// and is only stored (200/201) before its first deploy.
import { Type, type TSchema } from 'typebox';
import { route, type ApiCall } from './route.ts';
import { AppName, AppParams } from './schemas.ts';
import { Loose, Nullable } from '../shapes/common.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { CheckListSchema, RemovedCheckSchema, StoredCheckSchema } from '../shapes/checks.ts';
import { AddedCertSchema, AutoCertsSchema, CertListSchema, DomainListSchema, RemovedCertSchema } from '../shapes/domains.ts';
import { actor, runChange, type AcceptedReply, type StoredReply } from './change.ts';
import type { Actor, Progress } from '../ops/actor.ts';
import { addDomain, listDomains, removeDomain } from '../ops/domains/domains.ts';
import { addCert, listCerts, removeCert, setAutoCerts } from '../ops/domains/certs.ts';
import { listChecks, setCheck, unsetCheck } from '../ops/processes/checks.ts';
import { clearResources, getQuota, resourceReport, setQuota, setResources } from '../ops/processes/resources.ts';
import { allowEgress, denyEgress, listEgress } from '../ops/apps/egress.ts';

/** A change's answers: 202 with the job when it rolls out, else `status` with what the operation returns. */
function changed<S extends number, T extends TSchema>(status: S, result: T): { [K in S]: T } & { 202: typeof AcceptedSchema } {
  return { [status]: result, 202: AcceptedSchema } as { [K in S]: T } & { 202: typeof AcceptedSchema };
}

/** Runs a setting's change; stored only, it answers `status` with the operation's result. */
function change<S extends number, T>(call: ApiCall, status: S, work: (a: Actor, p: Progress) => Promise<T>): Promise<AcceptedReply | StoredReply<S, T>> {
  return runChange(work, call, { status });
}

const Host = Type.String({ minLength: 1, maxLength: 253, description: 'A host name (DNS).' });
const HostParams = Type.Object({ app: AppName, host: Host }, { additionalProperties: false });
const CheckKind = Type.Enum(['startup', 'liveness', 'readiness']);
const ResourceKind = Type.Enum(['limit', 'reserve'], { description: 'limit (resource:limit) or reserve (resource:reserve).' });
const Quantities = { memory: Type.Optional(Type.String({ maxLength: 32, description: 'Memory, e.g. 512Mi.' })), cpu: Type.Optional(Type.String({ maxLength: 32, description: 'CPU, e.g. 0.5 or 500m.' })) };
const EgressRule = Type.Object({ cidr: Type.String(), port: Type.Optional(Type.Integer()) }, { additionalProperties: false });

export const domainRoutes = [
  route({
    method: 'GET', url: '/apps/:app/domains', tag: 'domains', need: 'read',
    summary: "An app's default and custom domains (= domains APP --json)",
    params: AppParams,
    response: { 200: DomainListSchema },
    handle: (call) => ({ status: 200, json: listDomains(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/domains', tag: 'domains', need: 'deploy',
    summary: 'Let the app answer on a custom domain too',
    params: AppParams,
    body: Type.Object({ host: Host }, { additionalProperties: false }),
    response: changed(201, Type.Object({ host: Type.String() }, { additionalProperties: false })),
    handle: (call) => change(call, 201, (a, p) => addDomain(a, call.params.app, call.body.host, p)),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/domains/:host', tag: 'domains', need: 'deploy',
    summary: 'Stop answering on a custom domain',
    params: HostParams,
    response: changed(200, Type.Object({ host: Type.String(), unservedCerts: Type.Array(Type.String()) }, { additionalProperties: false })),
    handle: (call) => change(call, 200, (a, p) => removeDomain(a, call.params.app, call.params.host, p)),
  }),
];

export const certRoutes = [
  route({
    method: 'GET', url: '/apps/:app/certs', tag: 'certs', need: 'read',
    summary: "The state of each of an app's hosts' certificates (= certs APP --json)",
    params: AppParams,
    response: { 200: CertListSchema },
    handle: async (call) => ({ status: 200, json: await listCerts(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/certs', tag: 'certs', need: 'deploy',
    summary: 'Upload a certificate and its key (PEM) for hosts of the app',
    params: AppParams,
    body: Type.Object({ pem: Type.String({ minLength: 1, maxLength: 60_000, description: 'The certificate chain and its private key, PEM.' }) }, { additionalProperties: false }),
    response: changed(201, AddedCertSchema),
    handle: (call) => change(call, 201, (a, p) => addCert(a, call.params.app, call.body.pem, p)),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/certs/:host', tag: 'certs', need: 'deploy',
    summary: 'Remove the uploaded certificate of a host',
    params: HostParams,
    response: changed(200, RemovedCertSchema),
    handle: (call) => change(call, 200, (a, p) => removeCert(a, call.params.app, call.params.host, p)),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/certs', tag: 'certs', need: 'deploy',
    summary: 'Turn automatic (ACME) certificates on or off (= certs:auto:enable / certs:auto:disable)',
    params: AppParams,
    body: Type.Object({ auto: Type.Boolean() }, { additionalProperties: false }),
    response: changed(200, AutoCertsSchema),
    handle: (call) => change(call, 200, (a, p) => setAutoCerts(a, call.params.app, call.body.auto, p)),
  }),
];

export const checkRoutes = [
  route({
    method: 'GET', url: '/apps/:app/checks', tag: 'checks', need: 'read',
    summary: "An app's health checks by process type (= checks APP --json)",
    params: AppParams,
    response: { 200: CheckListSchema },
    handle: (call) => ({ status: 200, json: listChecks(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/checks', tag: 'checks', need: 'deploy',
    summary: "Set an HTTP health check of a process type (replaces app.json's check of that kind)",
    params: AppParams,
    body: Type.Object({
      process: Type.String({ minLength: 1, maxLength: 63 }),
      type: CheckKind,
      path: Type.String({ minLength: 1, maxLength: 1024 }),
      port: Type.Optional(Type.Integer()),
      initialDelay: Type.Optional(Type.Integer()),
      timeout: Type.Optional(Type.Integer()),
      attempts: Type.Optional(Type.Integer()),
      wait: Type.Optional(Type.Integer()),
    }, { additionalProperties: false }),
    response: changed(201, StoredCheckSchema),
    handle: (call) => change(call, 201, (a, p) => setCheck(a, call.params.app, call.body, p)),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/checks/:process/:type', tag: 'checks', need: 'deploy',
    summary: 'Remove a check set through the API or checks:set',
    params: Type.Object({ app: AppName, process: Type.String({ minLength: 1, maxLength: 63 }), type: CheckKind }, { additionalProperties: false }),
    response: changed(200, RemovedCheckSchema),
    handle: (call) => change(call, 200, (a, p) => unsetCheck(a, call.params.app, call.params.process, call.params.type, p)),
  }),
];

export const resourceRoutes = [
  route({
    method: 'GET', url: '/apps/:app/resources', tag: 'resources', need: 'read',
    summary: 'The limits and reservations of each process type (= resource:report APP --json)',
    params: AppParams,
    response: { 200: Type.Object({
      defaults: Loose('For every process type: limits and requests.'),
      processes: Type.Record(Type.String(), Loose('limits and requests')),
      warm: Type.Array(Loose("An earlier release's web instances kept warm for an instant rollback: type, release, until, instances, limits (each), memoryMiB (all together)."), { description: 'They count in the quota like any pod.' }),
    }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 200, json: await resourceReport(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/resources/:kind', tag: 'resources', need: 'deploy',
    summary: 'Set limits (limit) or reservations (reserve) for every process type, or one',
    params: Type.Object({ app: AppName, kind: ResourceKind }, { additionalProperties: false }),
    body: Type.Object({ process: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })), ...Quantities }, { additionalProperties: false }),
    response: changed(200, Type.Object({ kind: Type.String(), scope: Type.String(), memory: Nullable(Type.String()), cpu: Nullable(Type.String()) }, { additionalProperties: false })),
    handle: (call) => change(call, 200, (a, p) => setResources(a, call.params.app, call.params.kind, call.body, p)),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/resources/:kind', tag: 'resources', need: 'deploy',
    summary: 'Remove the limits or reservations of every process type (or one, with ?process=TYPE)',
    params: Type.Object({ app: AppName, kind: ResourceKind }, { additionalProperties: false }),
    query: Type.Object({ process: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })) }, { additionalProperties: false }),
    response: changed(200, Type.Object({ kind: Type.String(), scope: Type.String() }, { additionalProperties: false })),
    handle: (call) => change(call, 200, (a, p) => clearResources(a, call.params.app, call.params.kind, call.query.process, p)),
  }),
  route({
    method: 'GET', url: '/apps/:app/quota', tag: 'resources', need: 'read',
    summary: "An app's quota: pods, memory and CPU limits in all (= resource:quota APP --json)",
    params: AppParams,
    response: { 200: Loose('pods, memory, cpu, runs, container, setBy, own.') },
    handle: (call) => ({ status: 200, json: getQuota(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/quota', tag: 'resources', need: 'admin',
    summary: "Change an app's quota (admins)",
    params: AppParams,
    body: Type.Object({ pods: Type.Optional(Type.Integer()), ...Quantities }, { additionalProperties: false }),
    response: changed(200, Type.Object({ set: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])) }, { additionalProperties: false })),
    handle: (call) => change(call, 200, (a, p) => setQuota(a, call.params.app, call.body, p)),
  }),
];

export const egressRoutes = [
  route({
    method: 'GET', url: '/apps/:app/egress', tag: 'egress', need: 'read',
    summary: 'The addresses an admin let the app reach besides the internet (= egress APP --json)',
    params: AppParams,
    response: { 200: Type.Array(EgressRule) },
    handle: (call) => ({ status: 200, json: listEgress(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/egress', tag: 'egress', need: 'admin',
    summary: 'Let the app reach an address range (admins)',
    params: AppParams,
    body: Type.Object({ rule: Type.String({ minLength: 1, maxLength: 64, description: 'CIDR[:PORT], e.g. 10.0.5.0/24:5432.' }) }, { additionalProperties: false }),
    response: changed(201, Type.Object({ rule: EgressRule }, { additionalProperties: false })),
    handle: (call) => change(call, 201, (a, p) => allowEgress(a, call.params.app, call.body.rule, p)),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/egress', tag: 'egress', need: 'admin',
    summary: 'Remove an egress rule (admins); the rule is given as ?rule=CIDR[:PORT]',
    params: AppParams,
    query: Type.Object({ rule: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
    response: changed(200, Type.Object({ rule: EgressRule }, { additionalProperties: false })),
    handle: (call) => change(call, 200, (a, p) => denyEgress(a, call.params.app, call.query.rule, p)),
  }),
];
