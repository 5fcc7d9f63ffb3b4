// Who the presented token acts as.
import { route } from './route.ts';
import { WhoamiSchema } from '../shapes/session.ts';

export const whoamiRoutes = [
  route({
    method: 'GET', url: '/whoami', tag: 'meta', need: 'read',
    summary: 'The key and scope the token acts with',
    response: { 200: WhoamiSchema },
    handle: ({ identity }) => ({ status: 200, json: { name: identity.name, admin: identity.admin, scope: identity.scope ?? 'admin', ...(identity.tokenExpiresAt ? { expiresAt: identity.tokenExpiresAt } : {}) } }),
  }),
];
