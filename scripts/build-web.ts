// Builds the dashboard (web/src, Preact) into web/dist: one minified script and one stylesheet
// with content hashes in their names under assets/, an index.html that loads them, a manifest,
// and gzip and brotli copies of each, which the server sends as they are (no compression per
// request). Run by package.json's postinstall, `npm run build:web`, scripts/provision and install.sh.
//   node scripts/build-web.ts [OUT_DIR]
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'web', 'dist'));
// Built beside the target and swapped in whole, so a running server never sees half a build.
const tmp = `${out}.tmp-${process.pid}`;

/** The page every dashboard URL answers with: no inline script or style (the CSP forbids them). */
function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Slipway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading Slipway…</p></div>
<noscript><p>The Slipway dashboard needs JavaScript; the same actions are available over SSH (ssh -p 2222 git@HOST help).</p></noscript>
</body>
</html>
`;
}

/** Writes a file and its .gz and .br copies; returns the sizes. */
function writeCompressed(path: string, data: Buffer): { bytes: number; gzip: number; brotli: number } {
  const gz = gzipSync(data, { level: 9 });
  const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
  writeFileSync(path, data);
  writeFileSync(path + '.gz', gz);
  writeFileSync(path + '.br', br);
  return { bytes: data.length, gzip: gz.length, brotli: br.length };
}

rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'assets'), { recursive: true });
try {
  const result = await build({
    entryPoints: { app: join(root, 'web', 'src', 'main.tsx'), style: join(root, 'web', 'src', 'style.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir: join(tmp, 'assets'),
    metafile: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: root,
  });
  const files: Record<string, { bytes: number; gzip: number; brotli: number }> = {};
  let script = '';
  let style = '';
  for (const f of result.outputFiles) {
    const name = basename(f.path);
    if (name.endsWith('.js')) script = name;
    else if (name.endsWith('.css')) style = name;
    files[`assets/${name}`] = writeCompressed(join(tmp, 'assets', name), Buffer.from(f.contents));
  }
  if (!script || !style) throw new Error('esbuild produced no script or no stylesheet');
  files['index.html'] = writeCompressed(join(tmp, 'index.html'), Buffer.from(indexHtml(script, style)));
  const firstLoad = Object.values(files).reduce((n, f) => n + f.gzip, 0);
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ script: `assets/${script}`, style: `assets/${style}`, files, firstLoadGzipBytes: firstLoad }, null, 2) + '\n');
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  console.log(`build-web: ${out} (first load ${(firstLoad / 1024).toFixed(1)} KiB gzip: ${Object.entries(files).map(([n, f]) => `${n} ${f.gzip}`).join(', ')})`);
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  throw err;
}
// Read back so a broken write fails the build rather than the first page load.
JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
