// Who a request acts as: the dashboard session (POST and GET /session) and the token (GET /whoami).
import { Type, type Static } from 'typebox';
import { Time } from './common.ts';
import { scopeSchema } from './keys.ts';

/** A dashboard session as POST and GET /session answer it. */
export const SessionSchema = Type.Object({
  key: Type.String({ description: 'The SSH key the session acts as.' }),
  admin: Type.Boolean({ description: 'Whether the session has admin rights.' }),
  scope: scopeSchema("What it may do: a code's session, all its key may; a token's, the token's scope."),
  csrf: Type.String({ description: 'Send it as the X-CSRF-Token header with every request that changes something.' }),
  expiresAt: Time,
}, { additionalProperties: false });
/** A dashboard session: its key, rights, CSRF token and expiry. */
export type Session = Static<typeof SessionSchema>;

/** Whom a login link logs in as (POST /session/code), shown before the user confirms. */
export const LoginCodeInfoSchema = Type.Object({
  key: Type.String({ description: 'The SSH key the link logs in as.' }),
  admin: Type.Boolean({ description: 'Whether that key is an admin.' }),
  keyType: Type.String({ description: "The SSH key's type (ssh-ed25519, …)." }),
  fingerprint: Type.String({ description: "The SSH key's SHA-256 fingerprint, as ssh-add -l shows it." }),
  expiresAt: Time,
}, { additionalProperties: false });
/** Whom a login link logs in as. */
export type LoginCodeInfo = Static<typeof LoginCodeInfoSchema>;

/** `{name, admin, scope}` of the caller. */
export const WhoamiSchema = Type.Object({
  name: Type.String({ description: 'The key the token belongs to.' }),
  admin: Type.Boolean({ description: 'Whether the token acts with admin rights (an admin key and the admin scope).' }),
  scope: scopeSchema("The token's effective scope: the lower of its own and its key's rights."),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the token expires; absent when it never does.' })),
}, { additionalProperties: false });
/** Who the token acts as. */
export type Whoami = Static<typeof WhoamiSchema>;

/** How the login page may sign in besides a login link and a token: the OpenID Connect provider, if one is set. */
export const SignInOptionsSchema = Type.Object({
  oidc: Type.Union([
    Type.Object({
      name: Type.String({ description: 'What the button says after "Sign in with" (SLIPWAY_OIDC_NAME).' }),
      start: Type.String({ description: 'The page that starts the sign-in (a browser navigation, not an API call); ?next=PATH lands there after.' }),
    }, { additionalProperties: false }),
    Type.Null(),
  ], { description: 'The OpenID Connect sign-in; null when SLIPWAY_OIDC_ISSUER is not set.' }),
}, { additionalProperties: false });
/** The login page's other ways in. */
export type SignInOptions = Static<typeof SignInOptionsSchema>;
