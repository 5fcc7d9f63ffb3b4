import { createHash } from 'node:crypto';
import { UserError } from './errors.ts';

/** Quotes user input for an error message so control characters and quotes stay visible. */
export function shown(value: string): string {
  const s = JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
  return s;
}

// App names become Kubernetes object names and DNS labels (DNS-1035: a letter first), so
// they are checked once here, at the edge, and are safe as path parts afterwards.
const APP = /^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
/**
 * Names no app may have, and why: `slipway` is the platform's own (install.sh routes
 * slipway.BASE_DOMAIN to the dashboard; an app of that name would take its host, and names under
 * it, as its domains); `builds` would have the cluster build backend's namespace, slipway-builds, and `drains` the log
 * collector's, slipway-drains.
 */
const RESERVED: ReadonlyMap<string, string> = new Map([
  ['slipway', 'its dashboard answers at slipway.BASE_DOMAIN'],
  ['builds', 'its build pods run in the namespace slipway-builds'],
  ['drains', 'the log collector runs in the namespace slipway-drains'],
]);
export const RESERVED_APP_NAMES: ReadonlySet<string> = new Set(RESERVED.keys());
/** Validates an app name (a DNS label: lowercase letters, digits, dashes, a letter first, ≤ 40; not reserved). */
export function appName(name: string): string {
  if (!APP.test(name)) {
    throw new UserError(`${shown(name)} is not a valid app name: use 1-40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash.`);
  }
  const why = RESERVED.get(name);
  if (why) throw new UserError(`${shown(name)} is reserved for Slipway itself (${why}); choose another app name.`);
  return name;
}

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
/** Validates a config var name (an environment variable name). */
export function configKey(key: string): string {
  if (!CONFIG_KEY.test(key)) throw new UserError(`${shown(key)} is not a valid config key: use letters, digits and underscores, not starting with a digit.`);
  return key;
}

/** Largest config value accepted, in characters. */
export const MAX_CONFIG_VALUE = 32 * 1024;

/** Validates a config value: any text without NUL, bounded in size. */
export function configValue(key: string, value: string): string {
  if (value.includes('\0')) throw new UserError(`The value of ${key} contains a NUL character.`);
  if (value.length > MAX_CONFIG_VALUE) throw new UserError(`The value of ${key} is longer than ${MAX_CONFIG_VALUE} characters.`);
  return value;
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Validates a key or token name. */
export function label(kind: 'key' | 'token', name: string): string {
  if (!LABEL.test(name)) throw new UserError(`${shown(name)} is not a valid ${kind} name: use up to 64 letters, digits, dots, dashes, underscores and @, starting with a letter or digit.`);
  return name;
}

const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;
/** Validates a branch name for the deploy branch setting. */
export function branchName(name: string): string {
  if (!BRANCH.test(name) || name.includes('..') || name.includes('//') || name.endsWith('/') || name.endsWith('.lock')) {
    throw new UserError(`${shown(name)} is not a valid branch name.`);
  }
  return name;
}

/** The longest app name appName accepts. */
export const MAX_APP_NAME = 40;
/** What separates the parent's name from the branch's part in a preview app's name; apps:create refuses it. */
export const PREVIEW_SEPARATOR = '--';
const PREVIEW_HASH_CHARS = 8;
/** The fewest characters of the branch's slug a preview name keeps before the parent's name is shortened. */
const MIN_SLUG = 6;

/** A branch name as lowercase letters, digits and single dashes (`Feature/Login_v2` → `feature-login-v2`). */
export function branchSlug(branch: string): string {
  return branch.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * The app a preview of `parent` for `branch` is: `PARENT--SLUG-HASH`, a valid app name (so its
 * namespace slipway-NAME and host NAME.BASE_DOMAIN stay within a DNS label's 63 characters).
 * HASH is the first 8 hex digits of SHA-256 over parent and branch, so two branches whose slugs
 * are equal (`a/b`, `a-b`) or cut to the same prefix never share a name; the slug is shortened
 * first, then the parent's part, never the hash.
 */
export function previewAppName(parent: string, branch: string): string {
  const hash = createHash('sha256').update(`${parent}\0${branch}`).digest('hex').slice(0, PREVIEW_HASH_CHARS);
  const fixed = PREVIEW_SEPARATOR.length + 1 + PREVIEW_HASH_CHARS;
  let head = parent;
  if (head.length + fixed + MIN_SLUG > MAX_APP_NAME) head = head.slice(0, MAX_APP_NAME - fixed - MIN_SLUG).replace(/-+$/, '');
  const room = MAX_APP_NAME - fixed - head.length;
  const slug = branchSlug(branch).slice(0, room).replace(/-+$/, '');
  return appName(`${head}${PREVIEW_SEPARATOR}${slug ? `${slug}-` : ''}${hash}`);
}
