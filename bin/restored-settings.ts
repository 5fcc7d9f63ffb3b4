#!/usr/bin/env node
// The settings a restored server ran with that a new install may take over, as lines NAME=VALUE
// on stdout (checked as the server reads them, in the characters its settings file allows); what
// is refused is said on stderr. How install.sh --restore reads the data directory's
// restored-settings.json (server/ops/self-backup/adopt.ts).
//   node bin/restored-settings.ts FILE
import { readFileSync } from 'node:fs';
import { adoptable } from '../server/ops/self-backup/adopt.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: restored-settings.ts FILE\n');
  process.exit(2);
}
let settings: unknown;
try {
  settings = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  process.stderr.write(`${file} cannot be read as the restored server's settings (${(err as Error).message}).\n`);
  process.exit(1);
}
if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
  process.stderr.write(`${file} holds no settings object.\n`);
  process.exit(1);
}
const { adopted, skipped } = adoptable(settings as Record<string, unknown>);
for (const a of adopted) process.stdout.write(`${a.name}=${a.value}\n`);
for (const s of skipped) process.stderr.write(`${s.why}\n`);
