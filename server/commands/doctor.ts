import { UserError } from '../errors.ts';
import { runDoctor, type CheckResult } from '../ops/admin/doctor.ts';
import { listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

/** One line per check: `ok`/`FAIL`, its name, what was found, and for a failure what to do. */
export function doctorLines(results: readonly CheckResult[]): string[] {
  const width = Math.max(0, ...results.map((r) => r.name.length));
  return results.map(({ name, outcome }) =>
    `${outcome.ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(width)}  ${outcome.detail}${!outcome.ok && outcome.fix ? ` → ${outcome.fix}` : ''}`);
}

export const doctorCommands: Command[] = [
  {
    name: 'doctor',
    usage: '',
    summary: 'Check Docker, pack, the builder, the registry, the cluster, disk, SSH crypto and HTTPS on a public address',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    async run(ctx) {
      const results = await runDoctor(actorOf(ctx));
      const failed = results.filter((r) => !r.ok).length;
      return listing(
        results,
        (out) => { for (const line of doctorLines(results.map(({ name, ...outcome }) => ({ name, outcome })))) out.line(line); },
        failed ? new UserError(`${failed} of ${results.length} checks failed.`) : undefined,
      );
    },
  },
];
