// Builds, and what admins manage: keys, tokens (any key its own), and which keys may use an app.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppName, AppParams } from './schemas.ts';
import { BuildSummarySchema } from '../shapes/builds.ts';
import { AddedKeySchema, CreatedTokenSchema, KeySummarySchema, ScopeSchema, TokenSummarySchema } from '../shapes/keys.ts';
import { actor } from './change.ts';
import { buildOutput, listBuilds } from '../ops/builds/builds.ts';
import { addKey, grantAccess, listKeys, removeKey, revokeAccess } from '../ops/keys/keys.ts';
import { createToken, listTokens, revokeToken } from '../ops/keys/tokens.ts';

const Name = Type.String({ minLength: 1, maxLength: 63 });
const KeyQuery = Type.Object({ key: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: "Another key's tokens (admins)." })) }, { additionalProperties: false });

export const buildRoutes = [
  route({
    method: 'GET', url: '/apps/:app/builds', tag: 'builds', need: 'read',
    summary: "An app's builds, newest first (= builds APP --json)",
    params: AppParams,
    response: { 200: Type.Array(BuildSummarySchema) },
    handle: (call) => ({ status: 200, json: listBuilds(actor(call), call.params.app) }),
  }),
  route({
    method: 'GET', url: '/apps/:app/builds/:id/output', tag: 'builds', need: 'read', produces: 'text',
    summary: "One build's whole log, as plain text (= builds:output APP ID)",
    params: Type.Object({ app: AppName, id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    response: { 200: Type.String() },
    handle: async (call) => ({ status: 200, text: (await buildOutput(actor(call), call.params.app, call.params.id)).text }),
  }),
];

export const keyRoutes = [
  route({
    method: 'GET', url: '/keys', tag: 'keys', need: 'admin',
    summary: 'Every SSH key (= keys:list --json)',
    response: { 200: Type.Array(KeySummarySchema) },
    handle: (call) => ({ status: 200, json: listKeys(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/keys', tag: 'keys', need: 'admin',
    summary: 'Add an SSH public key under a name',
    body: Type.Object({ name: Name, publicKey: Type.String({ minLength: 1, maxLength: 16_384, description: 'One authorized_keys line, without options.' }), admin: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    response: { 201: AddedKeySchema },
    handle: (call) => ({ status: 201, json: addKey(actor(call), call.body.name, call.body.publicKey, call.body.admin === true) }),
  }),
  route({
    method: 'DELETE', url: '/keys/:name', tag: 'keys', need: 'admin',
    summary: 'Remove a key (its tokens stop at once)',
    params: Type.Object({ name: Name }, { additionalProperties: false }),
    response: { 200: Type.Object({ name: Type.String() }, { additionalProperties: false }) },
    handle: (call) => ({ status: 200, json: removeKey(actor(call), call.params.name) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/access', tag: 'keys', need: 'admin',
    summary: 'Let a key use the app (= access:grant)',
    params: AppParams,
    body: Type.Object({ key: Name }, { additionalProperties: false }),
    response: { 201: Type.Object({ app: Type.String(), key: Type.String() }, { additionalProperties: false }) },
    handle: (call) => ({ status: 201, json: grantAccess(actor(call), call.params.app, call.body.key) }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/access/:key', tag: 'keys', need: 'admin',
    summary: "Take a key's access to the app away; its running work stops (= access:revoke)",
    params: Type.Object({ app: AppName, key: Name }, { additionalProperties: false }),
    response: { 200: Type.Object({ app: Type.String(), key: Type.String() }, { additionalProperties: false }) },
    handle: (call) => ({ status: 200, json: revokeAccess(actor(call), call.params.app, call.params.key) }),
  }),
];

export const tokenRoutes = [
  route({
    method: 'GET', url: '/tokens', tag: 'tokens', need: 'read',
    summary: "Your key's access tokens (admins: another key's with ?key=) (= tokens:list --json)",
    query: KeyQuery,
    response: { 200: Type.Array(TokenSummarySchema) },
    handle: (call) => ({ status: 200, json: listTokens(actor(call), call.query.key) }),
  }),
  route({
    method: 'POST', url: '/tokens', tag: 'tokens', need: 'deploy',
    summary: 'Create an access token (shown once); never with more than the calling token may do',
    body: Type.Object({ name: Name, scope: Type.Optional(ScopeSchema), key: Type.Optional(Name), ttl: Type.Optional(Type.String({ maxLength: 16, description: 'How long it lasts: 30d, 12h, 90m, 3600s (at most SLIPWAY_TOKEN_MAX_TTL, which is also the default when set).' })) }, { additionalProperties: false }),
    response: { 201: CreatedTokenSchema },
    handle: (call) => ({ status: 201, json: createToken(actor(call), call.body.name, call.body.key, call.body.scope, call.body.ttl) }),
  }),
  route({
    method: 'DELETE', url: '/tokens/:name', tag: 'tokens', need: 'deploy',
    summary: "Revoke one of your access tokens (admins: another key's with ?key=)",
    params: Type.Object({ name: Name }, { additionalProperties: false }),
    query: KeyQuery,
    response: { 200: Type.Object({ name: Type.String(), key: Type.String() }, { additionalProperties: false }) },
    handle: (call) => ({ status: 200, json: revokeToken(actor(call), call.params.name, call.query.key) }),
  }),
];
