// Guards the design card's rules by reading the imports of server/ and hooks/: no cycle between
// folders (a file directly in server/ counts as its own node) nor between files, imports only down the layers
// (transports → adapters → operations → engines), one runtime importer per library that has a
// home, and process.env read only by the config module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

const files = [...sources('server'), ...sources('hooks')];
const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

interface Import { from: string; spec: string; typeOnly: boolean }

const imports: Import[] = files.flatMap((f) => {
  const text = readFileSync(join(root, f), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => ({ from: f, spec: m[2]!, typeOnly: m[1] !== undefined }));
});

/** The node of the folder graph a file belongs to: server/X/ for a folder, the file itself at server/'s top. */
function nodeOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'server') return parts[0]!;
  return parts.length > 2 ? `server/${parts[1]}/` : file;
}

/** Edges between nodes (folders by default, or each file), with one example import each. */
function folderGraph(node: (file: string) => string = nodeOf): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const i of imports) {
    if (!i.spec.startsWith('.')) continue;
    const target = relative(root, resolve(root, dirname(i.from), i.spec));
    const a = node(i.from);
    const b = node(target);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    graph.get(a)!.set(b, `${i.from} → ${target}`);
  }
  return graph;
}

/** Every cycle between nodes, each as the list of imports that close it. */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const found: string[][] = [];
  const seen = new Set<string>();
  const visit = (node: string, path: string[], via: string[]) => {
    for (const [next, example] of graph.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const key = [...path.slice(at)].sort().join(' ');
        if (!seen.has(key)) { seen.add(key); found.push([...via.slice(at), example]); }
        continue;
      }
      if (path.length < 12) visit(next, [...path, next], [...via, example]);
    }
  };
  for (const start of graph.keys()) visit(start, [start], []);
  return found;
}

test('no folder of server/ imports a folder that imports it back, directly or around a loop', () => {
  const found = cycles(folderGraph());
  assert.deepEqual(found, [], `import cycles between folders:\n${found.map((c) => '  ' + c.join('\n    then ')).join('\n')}`);
});

test('no file of server/ imports a file that imports it back, directly or around a loop', () => {
  const found = cycles(folderGraph((file) => file));
  assert.deepEqual(found, [], `import cycles between files:\n${found.map((c) => '  ' + c.join('\n    then ')).join('\n')}`);
});

test('each library with a home has exactly one runtime importer', () => {
  const homes: Record<string, string> = {
    ssh2: 'server/transport/ssh/lib.ts',
    execa: 'server/exec.ts',
    'better-sqlite3': 'server/store/db.ts',
    chalk: 'server/output/output.ts',
    '@kubernetes/client-node': 'server/deploy/kube-client.ts',
    'jsonc-parser': 'server/jsonc.ts',
    fastify: 'server/transport/http/api.ts',
    '@fastify/swagger': 'server/transport/http/api.ts',
    '@fastify/cors': 'server/transport/http/api.ts',
    '@fastify/type-provider-typebox': 'server/transport/http/api.ts',
  };
  for (const [lib, home] of Object.entries(homes)) {
    const runtime = [...new Set(imports.filter((i) => !i.typeOnly && (i.spec === lib || i.spec.startsWith(lib + '/'))).map((i) => i.from))];
    assert.deepEqual(runtime, [home], `${lib} must be imported at run time only by ${home}`);
  }
});

test('only the config module reads process.env', () => {
  const readers = files.filter((f) => /\bprocess\.env\b/.test(readFileSync(join(root, f), 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')));
  assert.deepEqual(readers, ['server/config.ts']);
});

test('the cycle finder sees a loop when there is one', () => {
  const g = new Map([['a', new Map([['b', 'a→b']])], ['b', new Map([['c', 'b→c']])], ['c', new Map([['a', 'c→a']])]]);
  assert.equal(cycles(g).length, 1);
  assert.deepEqual(cycles(new Map([['a', new Map([['b', 'a→b']])]])), []);
});

// The layers of the design card, top to bottom: transports take connections; adapters (the SSH
// commands, the HTTP API, the git push's hand-over) parse, authorise, call an operation and
// render; operations (ops/, jobs/) hold the use cases; everything else is an engine they run on.
// An import goes down or stays in its layer, never up. The composition roots wire every layer.
const COMPOSITION_ROOTS = new Set(['server/server.ts', 'server/main.ts']);
const LAYERS: Record<string, number> = {
  'server/transport/': 4,
  'server/commands/': 3,
  'server/api/': 3,
  // push/ receives a git push and hands it over to ops/ (the pipeline), as an adapter does.
  'server/push/': 3,
  'server/ops/': 2,
  'server/jobs/': 2,
};
const LAYER_NAMES = ['', 'engine', 'operation', 'adapter', 'transport'];

/** A node's layer: its folder's, else an engine (store/, deploy/, build/, auth/, gc/, output/, hooks, top-level modules). */
function layerOf(node: string): number {
  return LAYERS[node] ?? 1;
}

/** The relative imports between nodes, each with its source file, target file and whether it is type-only. */
function nodeImports(): { from: string; to: string; a: string; b: string; typeOnly: boolean }[] {
  return imports.filter((i) => i.spec.startsWith('.')).map((i) => {
    const to = relative(root, resolve(root, dirname(i.from), i.spec));
    return { from: i.from, to, a: nodeOf(i.from), b: nodeOf(to), typeOnly: i.typeOnly };
  }).filter((e) => e.a !== e.b);
}

test('imports go down the layers: transports → adapters → operations → engines, never back', () => {
  const up = nodeImports()
    .filter((e) => !COMPOSITION_ROOTS.has(e.from) && layerOf(e.b) > layerOf(e.a))
    .map((e) => `${e.from} (${LAYER_NAMES[layerOf(e.a)]}) → ${e.to} (${LAYER_NAMES[layerOf(e.b)]})`);
  assert.deepEqual(up, [], `imports up the layers:\n  ${up.join('\n  ')}`);
});

test('the SSH commands reach store, deploy and build only through ops/ (type-only imports aside)', () => {
  const direct = nodeImports()
    .filter((e) => e.a === 'server/commands/' && !e.typeOnly && ['server/store/', 'server/deploy/', 'server/build/', 'server/gc/'].includes(e.b))
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(direct, [], `commands importing engines at run time:\n  ${direct.join('\n  ')}`);
});

test('operations never print: nothing in ops/ or jobs/ imports the output renderer or a command type', () => {
  const printing = imports
    .filter((i) => /^server\/(ops|jobs)\//.test(i.from) && i.spec.startsWith('.'))
    .map((i) => ({ from: i.from, to: relative(root, resolve(root, dirname(i.from), i.spec)) }))
    .filter((e) => e.to === 'server/output/output.ts' || e.to.startsWith('server/commands/'))
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(printing, []);
});

test('the layer rule sees an import up the layers', () => {
  assert.ok(layerOf('server/commands/') > layerOf('server/ops/'));
  assert.ok(layerOf('server/ops/') > layerOf('server/store/'));
  assert.ok(layerOf('server/transport/') > layerOf('server/push/'));
  assert.equal(layerOf('server/urls.ts'), 1);
});

test('the app lock is taken and cleared in one place, ops/lock.ts', () => {
  const takers = files.filter((f) => !f.startsWith('server/store/') && /\.apps\.(lock|unlock)\(/.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(takers, ['server/ops/lock.ts']);
});
