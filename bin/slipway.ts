#!/usr/bin/env node
// The local `slipway` CLI: the same commands as over SSH, run as a local admin on the local data
// dir (for bootstrap on the VM, e.g. `slipway keys:add alice --admin < id.pub`).
import { text } from 'node:stream/consumers';
import { loadConfig } from '../server/config.ts';
import { execute } from '../server/commands/execute.ts';
import { openStoreCopyingFirst, storeKeysOf } from '../server/store/index.ts';
import { chooseBackends } from '../server/backends.ts';
import { configureLog } from '../server/output/log.ts';
import { errorLine } from '../server/output/output.ts';
import { reportFailure } from '../server/output/report.ts';
import { RunningDeploys, RunningSessions } from '../server/context.ts';
import { JobRunner } from '../server/jobs/runner.ts';
import { Events } from '../server/jobs/events.ts';
import { nativeCryptoLoaded } from '../server/transport/ssh/lib.ts';
import { STORELESS, configOnly } from '../server/commands/backups.ts';
import { AuditLog } from '../server/ops/audit/recorder.ts';

async function main(): Promise<number> {
  configureLog({ level: 'warn' });
  const config = loadConfig();
  const interrupted = new AbortController();
  process.once('SIGINT', () => interrupted.abort(new Error('interrupted')));
  const io = {
    stdout: (s: string) => process.stdout.write(s),
    stderr: (s: string) => process.stderr.write(s),
    stdin: () => text(process.stdin),
    color: process.stdout.isTTY === true,
    signal: interrupted.signal,
  };
  const local = { name: 'local', admin: true, via: 'local' } as const;
  // backup:keygen needs no server, and restore an empty data directory: neither opens the store.
  if (STORELESS.has(process.argv[2] ?? '')) return execute(configOnly(config), local, process.argv.slice(2), io);
  // An upgrade's new code may meet the store before the server does: the same copy first.
  const { store } = await openStoreCopyingFirst(config.dbFile, config.storeCopiesDir, storeKeysOf(config));
  let backends: Awaited<ReturnType<typeof chooseBackends>> | undefined;
  try {
    backends = await chooseBackends(config);
    const pushes = new RunningDeploys();
    const audit = new AuditLog(store);
    return await execute(
      { config, store, pushes, sessions: new RunningSessions(), jobs: new JobRunner(store, config, pushes, undefined, audit), events: new Events(), builder: backends.builder, deployer: backends.deployer, registry: backends.registry, nativeCrypto: nativeCryptoLoaded, audit },
      local,
      process.argv.slice(2),
      io,
    );
  } finally {
    // The deployer's read cache watches the cluster once a command read it: the watches end
    // here, or this process would not exit.
    backends?.deployer?.close?.();
    store.close();
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const r = reportFailure(err, 'slipway failed');
    process.stderr.write(errorLine(r.message) + '\n');
    process.exitCode = r.exitCode;
  },
);
