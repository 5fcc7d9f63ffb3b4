// Builds the server (server/main.ts and everything it imports) into one JavaScript file,
// dist/server.mjs, which bin/slipway-server runs: the server then starts without Node's
// TypeScript stripper, a WebAssembly module that grows to the largest file it strips and never
// gives the memory back (about 17 MiB of a ~120 MiB server; bench/results/memory.md). The
// packages stay where npm put them (imported from node_modules at run time, native addons and
// all); dist/ sits one folder below the checkout as server/ does, so the paths the server finds
// from its own location (install.sh, package.json, web/dist, hooks/) are the same.
// Run by package.json's postinstall, scripts/provision, install.sh, and bin/slipway-server when a
// source is newer than the build.
//   node scripts/build-server.ts [OUT_FILE]
import { build } from 'esbuild';
import { renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'dist', 'server.mjs'));
// Written beside the target and renamed over it: a server starting meanwhile never reads half a file.
const tmp = `${out}.tmp-${process.pid}`;
try {
  await build({
    entryPoints: [join(root, 'server', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    packages: 'external',
    // No source map: V8 would keep it in memory with the source. The output is not minified and
    // marks each module with its path (`// server/…`), so a stack trace's line is easy to follow.
    minify: false,
    logLevel: 'warning',
  });
  renameSync(tmp, out);
} catch (err) {
  rmSync(tmp, { force: true });
  throw err;
}
