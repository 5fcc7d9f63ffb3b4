// Builds the client (client/main.ts and its modules) into one JavaScript file,
// client/dist/slipway.mjs, the `slipway` binary of the slipway-cli package: Node does not strip
// TypeScript inside node_modules, and one file starts faster than many. It imports only node:
// built-ins (test/unit/architecture.test.ts), so the package has no dependencies.
// Run by client/package.json's prepack (`npm pack` in client/).
//   node scripts/build-client.ts [OUT_FILE]
import { build } from 'esbuild';
import { chmodSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'client', 'dist', 'slipway.mjs'));
const tmp = `${out}.tmp-${process.pid}`;
try {
  await build({
    entryPoints: [join(root, 'client', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: false,
    logLevel: 'warning',
  });
  chmodSync(tmp, 0o755);
  renameSync(tmp, out);
} catch (err) {
  rmSync(tmp, { force: true });
  throw err;
}
