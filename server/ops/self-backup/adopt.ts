// The settings a restored server ran with that a new install takes over where none of its own
// flags set them (install.sh --restore, through bin/restored-settings.ts): each checked as the
// server reads it, and only in the characters install.sh's settings file (sourced by a shell)
// allows.
import { checkSetting } from '../../config.ts';
import { UserError } from '../../errors.ts';

/** The archive's settings (write.ts's settingsOf) a new install may take over, by the variable that sets each. */
const ADOPTED = [
  ['acmeEmail', 'SLIPWAY_ACME_EMAIL'],
  ['builderImage', 'SLIPWAY_BUILDER'],
  ['buildBackend', 'SLIPWAY_BUILD_BACKEND'],
  ['storageClass', 'SLIPWAY_STORAGE_CLASS'],
  ['backupRecipient', 'SLIPWAY_BACKUP_KEY'],
  ['keepReleases', 'SLIPWAY_KEEP_RELEASES'],
] as const;

/** install.sh's `safe`: what a value in its settings file may hold. */
const SHELL_SAFE = /^[A-Za-z0-9._:/@+=,~-]+$/;

export interface Adopted { name: string; value: string }
export interface Skipped { name: string; why: string }

/** Of the archive's `settings`, those a new install may take over (set ones only), and those refused with why. */
export function adoptable(settings: Readonly<Record<string, unknown>>): { adopted: Adopted[]; skipped: Skipped[] } {
  const adopted: Adopted[] = [];
  const skipped: Skipped[] = [];
  for (const [key, name] of ADOPTED) {
    const v = settings[key];
    if (v === null || v === undefined || v === '') continue;
    const value = typeof v === 'number' && Number.isInteger(v) ? String(v) : v;
    if (typeof value !== 'string' || !SHELL_SAFE.test(value)) {
      skipped.push({ name, why: `${name} in the archive is not a value install.sh writes (${JSON.stringify(v)}).` });
      continue;
    }
    // The old server read its key from a file on its own disk at most; only the recipient itself travels.
    if (name === 'SLIPWAY_BACKUP_KEY' && !value.startsWith('age1')) {
      skipped.push({ name, why: `${name} in the archive names a file of the old server (${value}), not a recipient.` });
      continue;
    }
    try {
      checkSetting(name, value);
      adopted.push({ name, value });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      skipped.push({ name, why: err.message });
    }
  }
  return { adopted, skipped };
}
