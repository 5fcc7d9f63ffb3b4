// Who the presented token acts as.
import { Type } from 'typebox';
import { route } from './route.ts';

/** `{name, admin, scope}` of the caller. */
export const Whoami = Type.Object({
  name: Type.String({ description: 'The key the token belongs to.' }),
  admin: Type.Boolean({ description: 'Whether the token acts with admin rights (an admin key and the admin scope).' }),
  scope: Type.Union([Type.Literal('read'), Type.Literal('deploy'), Type.Literal('admin')], { description: "The token's effective scope: the lower of its own and its key's rights." }),
}, { additionalProperties: false });

export const whoamiRoutes = [
  route({
    method: 'GET', url: '/whoami', tag: 'meta', need: 'read',
    summary: 'The key and scope the token acts with',
    response: { 200: Whoami },
    handle: ({ identity }) => ({ status: 200, json: { name: identity.name, admin: identity.admin, scope: identity.scope ?? 'admin' } }),
  }),
];
