// Log drains (= drains, drains:add, drains:remove, drains:test, drains:info): an app's, and the
// global ones (admins) under /drains.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { actor } from './change.ts';
import { DrainViewSchema, DrainsInfoSchema } from '../shapes/drains.ts';
import { addDrain, drainsInfo, listDrains, removeDrain } from '../ops/drains/drains.ts';
import { testDrain } from '../ops/drains/drain-test.ts';

const Url = Type.String({ minLength: 1, maxLength: 512, description: 'syslog+tls://HOST:PORT, syslog://HOST:PORT, https://[USER:PASSWORD@]HOST[:PORT]/PATH or otlp+https://HOST[:PORT]/PATH.' });
const Ref = Type.String({ minLength: 1, maxLength: 512, description: "The drain's token (d.…) or URL." });
const AddBody = Type.Object({
  url: Url,
  headers: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), { description: 'HTTP headers an otlp+https:// drain sends (e.g. an API key).' })),
}, { additionalProperties: false });
const RefBody = Type.Object({ drain: Ref }, { additionalProperties: false });
const RefQuery = Type.Object({ drain: Ref }, { additionalProperties: false });
const Removed = Type.Object({ removed: DrainViewSchema }, { additionalProperties: false });
const Tested = Type.Object({ outcome: Type.String({ description: "One line: what the endpoint answered, or the TLS or connection error." }) }, { additionalProperties: false });
const headerList = (h: Record<string, string> | undefined) => Object.entries(h ?? {}).map(([k, v]) => `${k}=${v}`);

export const drainRoutes = [
  route({
    method: 'GET', url: '/apps/:app/drains', tag: 'drains', need: 'read',
    summary: "An app's log drains (= drains APP --json)",
    params: AppParams,
    response: { 200: Type.Array(DrainViewSchema) },
    handle: (call) => ({ status: 200, json: listDrains(actor(call), { app: call.params.app }) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/drains', tag: 'drains', need: 'deploy',
    summary: "Send an app's log lines to a drain (= drains:add APP URL)",
    params: AppParams,
    body: AddBody,
    response: { 201: DrainViewSchema },
    handle: async (call) => ({ status: 201, json: await addDrain(actor(call), { app: call.params.app }, call.body.url, headerList(call.body.headers)) }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/drains', tag: 'drains', need: 'deploy',
    summary: 'Remove a drain (= drains:remove APP URL|TOKEN)',
    params: AppParams,
    query: RefQuery,
    response: { 200: Removed },
    handle: async (call) => ({ status: 200, json: { removed: await removeDrain(actor(call), { app: call.params.app }, call.query.drain) } }),
  }),
  route({
    method: 'POST', url: '/apps/:app/drains/test', tag: 'drains', need: 'deploy',
    summary: 'Send one test line to a drain or URL now (= drains:test APP URL|TOKEN)',
    params: AppParams,
    body: RefBody,
    response: { 200: Tested },
    handle: async (call) => ({ status: 200, json: { outcome: await testDrain(actor(call), { app: call.params.app }, call.body.drain) } }),
  }),
  route({
    method: 'GET', url: '/apps/:app/drains/info', tag: 'drains', need: 'read',
    summary: "How each of an app's drains delivers (= drains:info APP --json)",
    params: AppParams,
    response: { 200: DrainsInfoSchema },
    handle: async (call) => ({ status: 200, json: await drainsInfo(actor(call), { app: call.params.app }) }),
  }),
  route({
    method: 'GET', url: '/drains', tag: 'drains', need: 'admin',
    summary: "The global drains, which receive every app's lines (= drains --global --json)",
    response: { 200: Type.Array(DrainViewSchema) },
    handle: (call) => ({ status: 200, json: listDrains(actor(call), { global: true }) }),
  }),
  route({
    method: 'POST', url: '/drains', tag: 'drains', need: 'admin',
    summary: 'Add a global drain (= drains:add --global URL)',
    body: AddBody,
    response: { 201: DrainViewSchema },
    handle: async (call) => ({ status: 201, json: await addDrain(actor(call), { global: true }, call.body.url, headerList(call.body.headers)) }),
  }),
  route({
    method: 'DELETE', url: '/drains', tag: 'drains', need: 'admin',
    summary: 'Remove a global drain (= drains:remove --global URL|TOKEN)',
    query: RefQuery,
    response: { 200: Removed },
    handle: async (call) => ({ status: 200, json: { removed: await removeDrain(actor(call), { global: true }, call.query.drain) } }),
  }),
  route({
    method: 'GET', url: '/drains/info', tag: 'drains', need: 'admin',
    summary: 'How each global drain delivers (= drains:info --global --json)',
    response: { 200: DrainsInfoSchema },
    handle: async (call) => ({ status: 200, json: await drainsInfo(actor(call), { global: true }) }),
  }),
];
