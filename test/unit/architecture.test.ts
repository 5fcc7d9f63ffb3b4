// Guards the design card's rules by reading the imports of server/ and hooks/: no cycle between
// folders (a file directly in server/ counts as its own node) nor between files, imports only down the layers
// (transports → adapters → operations → engines), one runtime importer per library that has a
// home, process.env read only by the config module, and the engine floor's order (model < kube <
// deploy, build, cluster-build), one Kubernetes client per server and no file over 600 lines.
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
/** A module loaded on first use (`await import('lib')`): a runtime import all the same. */
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

interface Import { from: string; spec: string; typeOnly: boolean }

const imports: Import[] = files.flatMap((f) => {
  const text = readFileSync(join(root, f), 'utf8');
  return [
    ...[...text.matchAll(IMPORT)].map((m) => ({ from: f, spec: m[2]!, typeOnly: m[1] !== undefined })),
    ...[...text.matchAll(DYNAMIC_IMPORT)].map((m) => ({ from: f, spec: m[1]!, typeOnly: false })),
  ];
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
    'jsonc-parser': 'server/jsonc.ts',
    fastify: 'server/transport/http/api.ts',
    '@fastify/swagger': 'server/transport/http/api.ts',
    '@fastify/cors': 'server/transport/http/api.ts',
    '@fastify/type-provider-typebox': 'server/transport/http/api.ts',
    'js-yaml': 'server/kube/yaml.ts',
    'age-encryption': 'server/ops/self-backup/age.ts',
    'tar-stream': 'server/ops/self-backup/tar.ts',
    'prom-client': 'server/observe/metrics.ts',
    '@opentelemetry/api': 'server/observe/traces.ts',
    'openid-client': 'server/auth/oidc.ts',
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

// The engine floor, bottom to top: the domain's nouns (model.ts, importing nothing), the one home
// of Kubernetes (kube/: the client, its types, labels, placement, policies, quantities), then the
// engines that use them (deploy/, build/, cluster-build/). An engine imports only below itself or
// beside itself; cluster builds never reach into the deployer, nor the store into any engine.
const ENGINE_FLOORS: Record<string, number> = {
  'server/model.ts': 0,
  'server/kube/': 1,
  'server/deploy/': 2,
  'server/build/': 2,
  'server/cluster-build/': 2,
};
/** Imports between nodes that the engine floor forbids even at the same floor. */
const FORBIDDEN_BESIDE: readonly [string, string][] = [['server/cluster-build/', 'server/deploy/'], ['server/deploy/', 'server/cluster-build/']];

type NodeImport = { from: string; to: string; a: string; b: string };

/** The imports that break the engine floor's order, as `from → to` lines. */
function engineFloorBreaks(edges: readonly NodeImport[]): string[] {
  return edges.filter((e) => {
    const fa = ENGINE_FLOORS[e.a];
    const fb = ENGINE_FLOORS[e.b];
    if (e.a === 'server/model.ts') return true;
    if (fa === undefined || fb === undefined) return false;
    return fb > fa || FORBIDDEN_BESIDE.some(([x, y]) => e.a === x && e.b === y);
  }).map((e) => `${e.from} → ${e.to}`);
}

/** The store's imports of an engine folder (deploy/, build/, kube/, …): it may use the model and top-level modules only. */
function storeEngineImports(edges: readonly NodeImport[]): string[] {
  return edges.filter((e) => e.a === 'server/store/' && e.b.endsWith('/') && layerOf(e.b) === 1).map((e) => `${e.from} → ${e.to}`);
}

test('the engine floor: model < kube < deploy, build, cluster-build; cluster-build never imports deploy', () => {
  const breaks = engineFloorBreaks(nodeImports());
  assert.deepEqual(breaks, [], `imports against the engine floor:\n  ${breaks.join('\n  ')}`);
});

test('the engine floor rule sees an import upward, one across to deploy/, and any import of the model', () => {
  const edge = (from: string, to: string): NodeImport => ({ from, to, a: nodeOf(from), b: nodeOf(to) });
  assert.deepEqual(engineFloorBreaks([edge('server/kube/labels.ts', 'server/deploy/workload.ts')]), ['server/kube/labels.ts → server/deploy/workload.ts']);
  assert.deepEqual(engineFloorBreaks([edge('server/cluster-build/pod.ts', 'server/deploy/netpol.ts')]).length, 1);
  assert.deepEqual(engineFloorBreaks([edge('server/model.ts', 'server/errors.ts')]).length, 1);
  assert.deepEqual(engineFloorBreaks([edge('server/deploy/kube.ts', 'server/kube/client.ts'), edge('server/cluster-build/builder.ts', 'server/build/pack.ts')]), []);
});

test('the store imports no engine, only the model and top-level modules', () => {
  const found = storeEngineImports(nodeImports());
  assert.deepEqual(found, [], `store/ importing engines:\n  ${found.join('\n  ')}`);
});

test('the store rule sees an import of deploy/', () => {
  const e = { from: 'server/store/releases.ts', to: 'server/deploy/deployer.ts', a: 'server/store/', b: 'server/deploy/' };
  assert.deepEqual(storeEngineImports([e]), ['server/store/releases.ts → server/deploy/deployer.ts']);
  assert.deepEqual(storeEngineImports([{ ...e, to: 'server/model.ts', b: 'server/model.ts' }]), []);
});

/** Files that import `lib` (types included) outside `home` (a folder or a file). */
function importersOutside(all: readonly Import[], lib: string, home: string): string[] {
  return [...new Set(all.filter((i) => (i.spec === lib || i.spec.startsWith(lib + '/')) && !i.from.startsWith(home)).map((i) => i.from))];
}

test('@kubernetes/client-node is imported (types too) only in server/kube/', () => {
  assert.deepEqual(importersOutside(imports, '@kubernetes/client-node', 'server/kube/'), []);
  assert.deepEqual(importersOutside([{ from: 'server/deploy/x.ts', spec: '@kubernetes/client-node', typeOnly: true }], '@kubernetes/client-node', 'server/kube/'), ['server/deploy/x.ts'], 'the rule sees a type import outside');
});

/**
 * Files whose text loads `lib` at run time: a value import or export (anything but `import type`
 * and `export type`: node strips `import { type X }` to `import {}`, which still loads the
 * module), a bare `import 'lib'`, a dynamic import() or a require().
 */
function runtimeLoaders(texts: ReadonlyMap<string, string>, lib: string): string[] {
  const name = lib.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const spec = `['"]${name}(?:/[^'"]*)?['"]`;
  const loads = [
    new RegExp(`^\\s*(?:import|export)\\s+(?!type\\s)[^;'"]*?\\bfrom\\s*${spec}`, 'm'),
    new RegExp(`^\\s*import\\s*${spec}`, 'm'),
    new RegExp(`\\b(?:import|require)\\s*\\(\\s*${spec}`),
  ];
  return [...texts].filter(([, text]) => loads.some((re) => re.test(text))).map(([f]) => f);
}

// The library costs about 80 MiB of memory once loaded (every generated API and model, its HTTP
// and auth stacks), so Slipway talks to Kubernetes with a client of its own (server/kube/) and
// takes only the model types from it, which are erased at run time.
test('nothing loads @kubernetes/client-node at run time: its model types only (import type, export type)', () => {
  const all = ['server', 'hooks', 'bench', 'test', 'scripts', 'web'].flatMap((dir) => readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => relative(root, join(e.parentPath, e.name))));
  const texts = new Map(all.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  assert.deepEqual(runtimeLoaders(texts, '@kubernetes/client-node'), []);
  const samples = new Map([
    ['type.ts', "import type { V1Pod } from '@scope/lib';\nexport type {\n  V1Node,\n} from '@scope/lib';"],
    ['value.ts', "import { KubeConfig } from '@scope/lib';"],
    ['inline-type.ts', "import {\n  type V1Pod,\n} from '@scope/lib';"],
    ['deep.ts', "import { KubeConfig } from '@scope/lib/dist/config.js';"],
    ['reexport.ts', "export { KubeConfig } from '@scope/lib';"],
    ['dynamic.ts', "const k = await import('@scope/lib');"],
    ['bare.ts', "import '@scope/lib';"],
    ['other.ts', "import { load } from 'js-yaml';\n// @scope/lib is not loaded here"],
    ['prefix.ts', "import { x } from '@scope/library';"],
  ]);
  assert.deepEqual(runtimeLoaders(samples, '@scope/lib'), ['value.ts', 'inline-type.ts', 'deep.ts', 'reexport.ts', 'dynamic.ts', 'bare.ts'], 'the rule sees every way of loading it, and no type import');
});

// The OpenTelemetry SDK and exporter are loaded only once tracing is turned on (SLIPWAY_OTLP_TRACES_URL),
// by the one module that owns them: a server without the setting carries none of it.
test('@opentelemetry/* is loaded at run time only by server/observe/traces.ts', () => {
  const texts = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  const loaders = new Set(['api', 'sdk-trace', 'exporter-trace-otlp-http', 'resources', 'context-async-hooks'].flatMap((p) => runtimeLoaders(texts, `@opentelemetry/${p}`)));
  assert.deepEqual([...loaders], ['server/observe/traces.ts']);
});

/** Files of server/ that construct a Kubernetes client, other than where the backends are wired. */
function kubeClientMakers(texts: ReadonlyMap<string, string>): string[] {
  return [...texts].filter(([f, text]) => f !== 'server/backends.ts' && /\bnew KubeClient\(/.test(text.replace(/^\s*(\/\/|\*).*$/gm, ''))).map(([f]) => f);
}

test('one Kubernetes client per server: `new KubeClient(` only in server/backends.ts', () => {
  const texts = new Map(files.filter((f) => f.startsWith('server/')).map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  assert.deepEqual(kubeClientMakers(texts), []);
  assert.deepEqual(kubeClientMakers(new Map([['server/ops/admin/doctor.ts', 'const k = new KubeClient(path);']])), ['server/ops/admin/doctor.ts'], 'the rule sees another maker');
});

/** The longest a file of server/ may be; the files over it today, each with why it is not split yet. */
const MAX_LINES = 600;
const LONG_FILES: Record<string, string> = {
  'server/config.ts': 'the one config module: every setting, its parse and its sentence; to be split by area (server, cluster, builds, limits)',
};

/** Files over MAX_LINES that are not listed, and listed files that are no longer over it. */
function lengthBreaks(lengths: ReadonlyMap<string, number>, allowed: Readonly<Record<string, string>>): string[] {
  const over = [...lengths].filter(([f, n]) => n > MAX_LINES && !(f in allowed)).map(([f, n]) => `${f}: ${n} lines`);
  const stale = Object.keys(allowed).filter((f) => (lengths.get(f) ?? 0) <= MAX_LINES).map((f) => `${f} is listed but no longer over ${MAX_LINES} lines: take it off the list`);
  return [...over, ...stale];
}

test(`no file in server/ over ${MAX_LINES} lines but those listed with a reason`, () => {
  const lengths = new Map(files.filter((f) => f.startsWith('server/')).map((f) => [f, readFileSync(join(root, f), 'utf8').split('\n').length]));
  const breaks = lengthBreaks(lengths, LONG_FILES);
  assert.deepEqual(breaks, [], breaks.join('\n'));
});

test('the length rule sees a long file and a stale exception', () => {
  assert.deepEqual(lengthBreaks(new Map([['server/a.ts', MAX_LINES + 1]]), {}), [`server/a.ts: ${MAX_LINES + 1} lines`]);
  assert.equal(lengthBreaks(new Map([['server/a.ts', 10]]), { 'server/a.ts': 'why' }).length, 1);
});

/** Label and annotation keys written as text outside server/kube/labels.ts, their one home. */
function strayLabelKeys(texts: ReadonlyMap<string, string>): string[] {
  const KEY = /'(app\.kubernetes\.io|slipway(\.dev)?)\/[a-z-]+'/g;
  // A registry repository's name, not a label.
  const NOT_LABELS = new Set(["'slipway/doctor'"]);
  return [...texts].filter(([f]) => f !== 'server/kube/labels.ts')
    .flatMap(([f, text]) => [...text.matchAll(KEY)].map((m) => m[0]).filter((k) => !NOT_LABELS.has(k)).map((k) => `${f}: ${k}`));
}

test('every label and annotation key is written once, in server/kube/labels.ts', () => {
  const texts = new Map(files.filter((f) => f.startsWith('server/')).map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  assert.deepEqual(strayLabelKeys(texts), []);
  assert.deepEqual(strayLabelKeys(new Map([['server/deploy/x.ts', "const k = 'slipway/new-key';"]])), ["server/deploy/x.ts: 'slipway/new-key'"], 'the rule sees a key written elsewhere');
});

/** The one library of the client and its one home: the MCP SDK, loaded only by `slipway mcp` (bundled into a chunk of its own). */
const CLIENT_LIBRARY_HOMES: Record<string, string> = { '@modelcontextprotocol/sdk': 'client/mcp/serve.ts' };

/**
 * The client (client/, a package of its own) against its rule: it is a client of /api/v1, so it
 * loads nothing of the server and no library (node: built-ins and its own files only) but the MCP
 * SDK in its home; it may take the API's response shapes as types (`import type` from
 * server/shapes/, erased at run time).
 */
function clientBreaks(clientImports: readonly Import[]): string[] {
  return clientImports.filter((i) => {
    if (i.spec.startsWith('node:')) return false;
    if (!i.spec.startsWith('.')) return !Object.entries(CLIENT_LIBRARY_HOMES).some(([lib, home]) => i.from === home && (i.spec === lib || i.spec.startsWith(`${lib}/`)));
    const target = relative(root, resolve(root, dirname(i.from), i.spec));
    if (target.startsWith('client/')) return false;
    return !(i.typeOnly && target.startsWith('server/shapes/'));
  }).map((i) => `${i.from} → ${i.spec}${i.typeOnly ? ' (type)' : ''}`);
}

test('client/ imports nothing of the server but the API shapes as types, and no library', () => {
  const clientImports = sources('client').flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(IMPORT)].map((m) => ({ from: f, spec: m[2]!, typeOnly: m[1] !== undefined })));
  assert.ok(clientImports.length > 20, 'the client has its imports read');
  assert.deepEqual(clientBreaks(clientImports), []);
  assert.deepEqual(clientBreaks([
    { from: 'client/a.ts', spec: '../server/ops/apps/apps.ts', typeOnly: false },
    { from: 'client/a.ts', spec: '../server/shapes/apps.ts', typeOnly: false },
    { from: 'client/a.ts', spec: '../server/shapes/apps.ts', typeOnly: true },
    { from: 'client/commands/a.ts', spec: '../../server/errors.ts', typeOnly: true },
    { from: 'client/a.ts', spec: 'execa', typeOnly: false },
    { from: 'client/a.ts', spec: 'node:fs', typeOnly: false },
    { from: 'client/mcp/serve.ts', spec: '@modelcontextprotocol/sdk/server/index.js', typeOnly: false },
    { from: 'client/commands/a.ts', spec: '@modelcontextprotocol/sdk/types.js', typeOnly: false },
  ]), ['client/a.ts → ../server/ops/apps/apps.ts', 'client/a.ts → ../server/shapes/apps.ts', 'client/commands/a.ts → ../../server/errors.ts (type)', 'client/a.ts → execa', 'client/commands/a.ts → @modelcontextprotocol/sdk/types.js'], 'the rule sees the server, a value import of a shape, a library, and the MCP SDK outside its home');
});

test('the client loads its MCP server (and so the MCP SDK) only when `slipway mcp` runs: no static import of client/mcp/serve.ts', () => {
  const importers = sources('client').filter((f) => f !== 'client/mcp/serve.ts' && [...readFileSync(join(root, f), 'utf8').matchAll(IMPORT)].some((m) => !m[1] && /mcp\/serve\.ts$/.test(m[2]!)));
  assert.deepEqual(importers, []);
});

test('client/ reads process.env only in client/env.ts', () => {
  const readers = sources('client').filter((f) => /\bprocess\.env\b/.test(readFileSync(join(root, f), 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')));
  assert.deepEqual(readers, ['client/env.ts']);
});
