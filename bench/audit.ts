// The audit log's cost (issue 39): what one entry costs the request that records it, and how long
// audit:verify takes over 100,000 entries. On a real store (SQLite file in WAL mode with
// synchronous=FULL, as the server opens it) in a temporary directory on this machine's disk:
//   1. record: BENCH_AUDIT_RECORDS (2,000) entries through the recorder one by one, each its own
//      write transaction as in the server: p50, p99 and mean per entry; goal <= 1 ms;
//   2. verify: the log filled to BENCH_AUDIT_ENTRIES (100,000) entries (built with the same chain
//      functions, inserted in batches), a checkpoint signed, then audit:verify's walk three times:
//      the median; goal <= 5 s. audit:export of all of them is timed too.
// Writes results/observe.md (its "Audit log" section). No testbed needed.
//   node bench/audit.ts
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../server/store/index.ts';
import { AuditLog } from '../server/ops/audit/recorder.ts';
import { ensureAuditKey, writeCheckpoint } from '../server/ops/audit/checkpoint.ts';
import { verifyAudit } from '../server/ops/audit/verify.ts';
import { exportAudit } from '../server/ops/audit/query.ts';
import { canonicalJson, entryHash } from '../server/ops/audit/chain.ts';
import type { AuditRow } from '../server/store/audit.ts';
import type { Services } from '../server/context.ts';
import { benchEnv } from './settings.ts';
import { median, percentile } from './stats.ts';

const SETTINGS = Object.freeze({
  records: Math.min(Number(benchEnv.BENCH_AUDIT_RECORDS || 2000), 100_000),
  entries: Math.min(Number(benchEnv.BENCH_AUDIT_ENTRIES || 100_000), 1_000_000),
  out: resolve(import.meta.dirname, 'results', 'observe.md'),
});
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const ms = (x: number) => `${x.toFixed(x < 10 ? 3 : 1)} ms`;

const dir = mkdtempSync(join(tmpdir(), 'slipway-audit-bench-'));
const store = openStore(join(dir, 'slipway.db'));
const audit = new AuditLog(store);
const config = { dataDir: dir };
ensureAuditKey(config);

/** A typical entry: a config change over SSH with its words. */
const entry = (i: number) => ({
  actor: 'alice', credential: 'key', interface: 'ssh' as const, source: '192.0.2.7', action: 'config:set', app: `app-${i % 50}`, object: 'DATABASE_URL=…',
  outcome: 'ok' as const, job: null, meta: { words: [`app-${i % 50}`, 'DATABASE_URL=…', 'GREETING=…'] },
});

try {
  // 1. One entry at a time, as requests record them.
  for (let i = 0; i < 50; i++) audit.record(entry(i)); // warm-up (statements prepared, file grown)
  const each: number[] = [];
  for (let i = 0; i < SETTINGS.records; i++) {
    const t0 = performance.now();
    audit.record(entry(i));
    each.push(performance.now() - t0);
  }
  const mean = each.reduce((a, b) => a + b, 0) / each.length;
  say(`record: p50 ${ms(percentile(each, 50))}, p99 ${ms(percentile(each, 99))}, mean ${ms(mean)}`);
  // The baseline: the smallest durable write the store makes (one settings row), as many times.
  const plain: number[] = [];
  for (let i = 0; i < SETTINGS.records; i++) {
    const t0 = performance.now();
    store.settings.set('bench', String(i));
    plain.push(performance.now() - t0);
  }
  const plainMean = plain.reduce((a, b) => a + b, 0) / plain.length;
  say(`one settings row: p50 ${ms(percentile(plain, 50))}, p99 ${ms(percentile(plain, 99))}, mean ${ms(plainMean)}`);
  // What the recorder itself costs (encoding, hash, the transaction's statements) without the
  // disk's flush: a second store with synchronous=OFF, for this row only.
  const cpuDir = mkdtempSync(join(tmpdir(), 'slipway-audit-bench-cpu-'));
  const cpuStore = openStore(join(cpuDir, 'slipway.db'));
  const cpu: number[] = [];
  try {
    cpuStore.db.pragma('synchronous = OFF');
    const cpuAudit = new AuditLog(cpuStore);
    for (let i = 0; i < 50; i++) cpuAudit.record(entry(i));
    for (let i = 0; i < SETTINGS.records; i++) {
      const t0 = performance.now();
      cpuAudit.record(entry(i));
      cpu.push(performance.now() - t0);
    }
  } finally {
    cpuStore.close();
    rmSync(cpuDir, { recursive: true, force: true });
  }
  say(`record without the flush: p50 ${ms(percentile(cpu, 50))}`);

  // 2. Fill up to the target size with the same chain, in batches (filling one by one would take minutes).
  const fillStart = performance.now();
  let head = store.audit.last()!;
  const insert = store.db.prepare(`INSERT INTO audit (seq, at, actor, credential, interface, source, action, app, object, outcome, job, meta, prev, hash)
    VALUES (@seq, @at, @actor, @credential, @interface, @source, @action, @app, @object, @outcome, @job, @meta, @prev, @hash)`);
  const batch = store.db.transaction((rows: AuditRow[]) => { for (const r of rows) insert.run(r); });
  while (head.seq < SETTINGS.entries - 1) {
    const rows: AuditRow[] = [];
    for (let i = 0; i < 5000 && head.seq + rows.length < SETTINGS.entries - 1; i++) {
      const prev = rows[rows.length - 1] ?? head;
      const e = entry(prev.seq);
      const row = { ...e, seq: prev.seq + 1, at: new Date().toISOString(), meta: canonicalJson(e.meta), prev: prev.hash };
      rows.push({ ...row, hash: entryHash(row) });
    }
    batch(rows);
    head = rows[rows.length - 1]!;
  }
  writeCheckpoint(config, store, audit);
  say(`filled to ${store.audit.count()} entries in ${((performance.now() - fillStart) / 1000).toFixed(1)} s`);

  const walks: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const v = verifyAudit(config, store);
    walks.push(performance.now() - t0);
    if (!v.ok || v.entries !== SETTINGS.entries) throw new Error(`verify: ${v.broken?.message ?? `${v.entries} entries`}`);
  }
  say(`verify of ${SETTINGS.entries}: ${walks.map((w) => ms(w)).join(', ')}`);
  const t0 = performance.now();
  let bytes = 0;
  const exported = await exportAudit({ identity: { name: 'bench', admin: true, via: 'local' }, services: { store } as unknown as Services }, {}, (lines) => { for (const l of lines) bytes += l.length + 1; });
  const exportMs = performance.now() - t0;
  say(`export of ${exported}: ${ms(exportMs)}, ${(bytes / 1048576).toFixed(1)} MiB`);

  const section = [
    '## Audit log (issue 39)',
    '',
    `\`node bench/audit.ts\`, ${new Date().toISOString().slice(0, 10)}: a real store (SQLite, WAL, synchronous=FULL) in a temporary directory on this machine's disk, 2 shared cores (load average ${loadavg()[0]!.toFixed(1)} when it ended: the flush's time is the disk's, and moves with what else writes to it).`,
    '',
    '| measure | value | goal | met |',
    '|---|---|---|---|',
    `| one entry recorded (its own write transaction), p50 of ${SETTINGS.records} | ${ms(percentile(each, 50))} | ≤ 1 ms | ${percentile(each, 50) <= 1 ? 'yes' : 'no'} |`,
    `| one entry recorded, p99 | ${ms(percentile(each, 99))} | | |`,
    `| one entry recorded, mean | ${ms(mean)} | ≤ 1 ms | ${mean <= 1 ? 'yes' : 'no'} |`,
    `| one entry recorded without the disk's flush (synchronous=OFF: the recorder's own work), p50 | ${ms(percentile(cpu, 50))} | | |`,
    `| baseline: one settings row written (the store's smallest durable write), p50 / p99 / mean | ${ms(percentile(plain, 50))} / ${ms(percentile(plain, 99))} / ${ms(plainMean)} | | |`,
    `| \`audit:verify\` of ${SETTINGS.entries.toLocaleString('en')} entries (chain and checkpoint), median of 3 | ${(median(walks) / 1000).toFixed(2)} s | ≤ 5 s | ${median(walks) <= 5000 ? 'yes' : 'no'} |`,
    `| \`audit:export --format jsonl\` of ${exported.toLocaleString('en')} entries | ${(exportMs / 1000).toFixed(2)} s (${(bytes / 1048576).toFixed(1)} MiB) | | |`,
    '',
  ].join('\n');
  // The file is shared with the other parts of issue 39 (drains, metrics): only this section is replaced.
  const previous = existsSync(SETTINGS.out) ? readFileSync(SETTINGS.out, 'utf8') : '# Observability (issue 39)\n\n';
  const start = previous.indexOf('## Audit log (issue 39)');
  const end = start < 0 ? -1 : previous.indexOf('\n## ', start + 1);
  const next = start < 0 ? `${previous.trimEnd()}\n\n${section}` : `${previous.slice(0, start)}${section}${end < 0 ? '' : previous.slice(end + 1)}`;
  writeFileSync(SETTINGS.out, next.replace(/\n{3,}/g, '\n\n'));
  say(`wrote ${SETTINGS.out}`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
