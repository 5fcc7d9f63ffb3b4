// Builds the client (client/main.ts and its modules) into client/dist/: slipway.mjs, the `slipway`
// binary of the slipway-cli package, and the chunks it loads on demand (`slipway mcp`'s server and
// the MCP SDK bundled into it, so no other command reads them at start). Node does not strip
// TypeScript inside node_modules, and one file starts faster than many. It bundles everything it
// imports (node: built-ins and, for `mcp`, the SDK: test/unit/architecture.test.ts), so the
// package has no dependencies. Run by client/package.json's prepack (`npm pack` in client/).
//   node scripts/build-client.ts [OUT_DIR]
import { build } from 'esbuild';
import { chmodSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'client', 'dist'));
const tmp = `${out}.tmp-${process.pid}`;
try {
  await build({
    entryPoints: { slipway: join(root, 'client', 'main.ts') },
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    // The dynamic import of client/mcp/serve.ts becomes a chunk of its own, read only by `slipway mcp`.
    splitting: true,
    chunkNames: '[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: false,
    logLevel: 'warning',
  });
  chmodSync(join(tmp, 'slipway.mjs'), 0o755);
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  throw err;
}
