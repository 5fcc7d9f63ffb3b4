// Writing a bench's results file: the report replaces the sections it writes, and every other
// section of the file (measured by other means, or said of a run by hand) is kept after it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes `report` to `file`, followed by the file's `## ` sections whose headings the report does not have. */
export function writeKeepingSections(file: string, report: string): void {
  const ours = new Set(report.split('\n').filter((l) => l.startsWith('## ')));
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = before.split(/\n(?=## )/).slice(1).filter((section) => !ours.has(section.split('\n')[0]!));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, [report, ...kept].join('\n'));
}
