// app.json as Dokku and Heroku read it: JSON with comments and trailing commas, errors with line
// and column, `formation` and `env` (applied on a first deploy only), and `content` checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../server/errors.ts';
import { parseAppJson } from '../../server/ops/apps/app-json.ts';
import { envToSet, formationToSet, generateSecret } from '../../server/ops/apps/app-setup.ts';
import { ContentChecks, contentVerdict } from '../../server/deploy/content-check.ts';
import type { V1Pod } from '../../server/kube/types.ts';

const fixture = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'appjson-app', 'app.json'), 'utf8');
const refused = (text: string, re: RegExp) =>
  assert.throws(() => parseAppJson(text), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'), text);

test("a Dokku-shaped app.json with comments, trailing commas and Heroku's keys is read, the keys Slipway does not use ignored", () => {
  const a = parseAppJson(fixture);
  assert.deepEqual(a.env, {
    SECRET_KEY: { generator: 'secret', required: true },
    WEB_CONCURRENCY: { value: '2', required: true },
    GREETING: { value: 'appjson ok', required: true },
    OPTIONAL_URL: { required: false },
  });
  assert.deepEqual(a.formation, { web: { quantity: 1, size: 'standard-1x' }, worker: { quantity: 1 } });
  assert.deepEqual(a.checks, { web: [{ type: 'startup', path: '/', content: 'appjson ok', attempts: 3, wait: 2, timeout: 5 }] });
});

test('a syntax error names its line and column in one sentence', () => {
  const text = '{\n  // the formation\n  "formation": {\n    "web": {"quantity" 1}\n  }\n}\n';
  refused(text, /^Push rejected: app\.json line 4, column 24: expected a colon\.$/);
  refused('{\n  "env": {"A": "b",}\n  "stack": "x"\n}', /^Push rejected: app\.json line 3, column 3: expected a comma\.$/);
  refused('{"a": "b"} x', /^Push rejected: app\.json line 1, column 12: unexpected character\.$/);
  refused('{"a": "b"}\n{}', /^Push rejected: app\.json line 2, column 1: unexpected text after the end of the document\.$/);
  refused('{"a": /* open', /^Push rejected: app\.json line 1, column 7: a \/\* comment is never closed\.$/);
  refused('', /^Push rejected: app\.json line 1, column 1: expected a value\.$/);
  refused('\uFEFF{"a": x}', /^Push rejected: app\.json line 1, column 8: unexpected character\.$/);
  assert.deepEqual(parseAppJson('\uFEFF{"formation": {"web": {"quantity": 2}}}').formation, { web: { quantity: 2 } }, 'a byte order mark is fine');
  refused('["web"]', /^Push rejected: app\.json must hold a JSON object\.$/);
});

test("Dokku's command checks are refused, not turned into HTTP checks", () => {
  refused('{"healthchecks": {"web": [{"type": "startup", "command": ["/app/check.sh"]}]}}', /^Push rejected: app\.json healthchecks\.web\[0\]: command checks are not supported; check over HTTP with path \(and content\) instead\.$/);
});

test('a __proto__ key is data, not a prototype', () => {
  const a = parseAppJson('{"env": {"__proto__": {"value": "x"}}}');
  assert.deepEqual(Object.keys(a.env), ['__proto__']);
  assert.equal(Object.getPrototypeOf(a.env), Object.prototype);
  assert.deepEqual(Object.keys(envToSet('shop', a.env, {})), ['__proto__']);
  assert.deepEqual(parseAppJson('{"__proto__": {"formation": {"web": {"quantity": 3}}}}').formation, {});
});

test('bad formation values get one sentence, bounded as ps:scale bounds them', () => {
  refused('{"formation": []}', /^Push rejected: app\.json formation must map process types/);
  refused('{"formation": {"web": 2}}', /^Push rejected: app\.json formation\.web must be an object such as \{"quantity": 1\}\.$/);
  refused('{"formation": {"web": {"quantity": -1}}}', /^Push rejected: app\.json formation\.web\.quantity: web takes a whole number of instances, not "-1"\.$/);
  refused('{"formation": {"web": {"quantity": "2"}}}', /formation\.web\.quantity: web takes a whole number of instances, not "2"\./);
  refused('{"formation": {"web": {"quantity": 1.5}}}', /not "1\.5"/);
  refused('{"formation": {"web": {"quantity": 100000}}}', /^Push rejected: app\.json formation\.web\.quantity: web cannot be scaled above \d+\.$/);
  refused('{"formation": {"a b": {"quantity": 1}}}', /^Push rejected: app\.json formation\."a b" is not a process type\.$/);
  refused('{"formation": {"web": {"size": "$(id)"}}}', /formation\.web\.size must be a dyno size/);
  // Dokku's other formation keys are not ours and are ignored.
  assert.deepEqual(parseAppJson('{"formation": {"web": {"max_parallel": 2, "autoscaling": {}}}}').formation, { web: {} });
});

test('bad env values get one sentence; the keys follow config:set', () => {
  refused('{"env": ["A"]}', /^Push rejected: app\.json env must map config keys/);
  refused('{"env": {"1BAD": "x"}}', /^Push rejected: app\.json env: "1BAD" is not a valid config key: use letters, digits and underscores, not starting with a digit\.$/);
  refused('{"env": {"N": 2}}', /^Push rejected: app\.json env\.N must be a string or an object/);
  refused('{"env": {"N": {"value": 2}}}', /^Push rejected: app\.json env\.N: the value must be a string \(write "2", not 2\)\.$/);
  refused('{"env": {"N": {"value": "a\\u0000b"}}}', /^Push rejected: app\.json env\.N: The value of N contains a NUL character\.$/);
  refused('{"env": {"N": {"generator": "echo 5"}}}', /^Push rejected: app\.json env\.N: the only generator is "secret", not "echo 5"\.$/);
  refused('{"env": {"N": {"required": "yes"}}}', /env\.N: required must be true or false\./);
});

test('env on a first deploy: values and secrets for keys not set yet, never an existing value', () => {
  const { env } = parseAppJson(fixture);
  let n = 0;
  const set = envToSet('shop', env, { WEB_CONCURRENCY: '8' }, () => `secret-${++n}`);
  assert.deepEqual(set, { SECRET_KEY: 'secret-1', GREETING: 'appjson ok' });
  assert.deepEqual(envToSet('shop', env, { SECRET_KEY: 'mine', WEB_CONCURRENCY: '1', GREETING: 'hi' }), {});
  assert.match(generateSecret(), /^[0-9a-f]{64}$/);
  assert.notEqual(generateSecret(), generateSecret());
});

test('a required key with no value and not set refuses the push in one sentence naming it', () => {
  const { env } = parseAppJson('{"env": {"API_KEY": {"description": "The API key", "required": true}, "DATABASE_URL": {"description": "Heroku: required by default"}, "X": "y"}}');
  assert.throws(() => envToSet('shop', env, {}), (e: unknown) => e instanceof UserError
    && e.message === 'Push rejected: app.json requires API_KEY and DATABASE_URL, which are not set; set them with config:set shop API_KEY=… and push again (nothing was deployed).');
  assert.throws(() => envToSet('shop', env, { DATABASE_URL: 'postgres://x' }), (e: unknown) => e instanceof UserError
    && e.message === 'Push rejected: app.json requires API_KEY, which is not set; set it with config:set shop API_KEY=… and push again (nothing was deployed).');
  // Set with config:set before the first push: that value counts and wins.
  assert.deepEqual(envToSet('shop', env, { API_KEY: 'k', DATABASE_URL: 'd' }), { X: 'y' });
});

test("formation counts are checked against the image's process types with ps:scale's check", () => {
  const { formation } = parseAppJson('{"formation": {"web": {"quantity": 0}, "worker": {"quantity": 1}, "clock": {"size": "basic"}}}');
  assert.deepEqual(formationToSet(formation, ['web', 'worker']), { web: 0, worker: 1 });
  assert.throws(() => formationToSet(formation, ['web']), (e: unknown) => e instanceof UserError
    && e.message === 'Push rejected: app.json formation.worker: There is no "worker" process type; this app has web; nothing was deployed.');
});

const readyPod = (name: string, ready = true): V1Pod => ({
  metadata: { name, labels: { 'app.kubernetes.io/component': 'web', 'slipway/release': '2' } },
  status: { phase: 'Running', containerStatuses: [{ name: 'web', ready, restartCount: 0, image: 'x', imageID: 'x', state: { running: { startedAt: new Date(0) } } }] },
});

test('a content check passes on 2xx/3xx with the text in the body, and says why not otherwise', () => {
  assert.equal(contentVerdict({ status: 200, body: 'Hello, world' }, 'Hello'), null);
  assert.equal(contentVerdict({ status: 302, body: 'Hello' }, 'Hello'), null);
  assert.equal(contentVerdict({ status: 200, body: 'Goodbye' }, 'Hello'), 'the body did not contain "Hello"');
  assert.equal(contentVerdict({ status: 500, body: 'Hello' }, 'Hello'), 'it answered HTTP 500');
  assert.equal(contentVerdict({ error: 'dial tcp 10.42.0.7:5000: connect: connection refused' }, 'Hello'), 'dial tcp 10.42.0.7:5000: connect: connection refused');
});

test('content checks probe each running new instance, wait between attempts, and fail after the last one', () => {
  const c = new ContentChecks({ web: [{ type: 'startup', path: '/', content: 'Hello', attempts: 2, wait: 3 }], worker: [{ type: 'readiness', path: '/', port: 9000 }] });
  assert.equal(c.any, true);
  const starting: V1Pod = { metadata: { name: 'web-c', labels: { 'app.kubernetes.io/component': 'web' } }, status: { containerStatuses: [{ name: 'web', ready: false, restartCount: 0, image: 'x', imageID: 'x', state: { waiting: { reason: 'ContainerCreating' } } }] } };
  const pods = [readyPod('web-a'), starting];
  const due = c.due(pods, 0);
  assert.deepEqual(due.map((d) => [d.pod, d.port, d.ready]), [['web-a', 5000, true]], 'only a running instance, on PORT');
  c.record(due[0]!, { status: 200, body: 'Bye' }, 0);
  assert.equal(c.failure, null);
  assert.deepEqual(c.due(pods, 2999), [], 'wait seconds between attempts');
  assert.equal(c.due(pods, 3000).length, 1);
  c.record(due[0]!, { status: 200, body: 'Bye' }, 3000);
  assert.equal(c.failure, 'web instance web-a failed its startup check (GET / for "Hello"): the body did not contain "Hello"');
  assert.equal(c.allPassed([readyPod('web-a')]), false);

  // Before the kubelet finds it ready, an instance that is still starting is asked again without
  // using up an attempt; a wrong answer counts at once.
  const early = new ContentChecks({ web: [{ type: 'startup', path: '/', content: 'Hello', attempts: 1, wait: 1, initialDelay: 5 }] });
  assert.deepEqual(early.due([readyPod('web-b', false)], 4999), [], 'initialDelay after the container started');
  const [b] = early.due([readyPod('web-b', false)], 5000);
  assert.equal(b!.ready, false);
  early.record(b!, { error: 'dial tcp 10.42.0.9:5000: connect: connection refused' }, 5000);
  early.record(b!, { status: 503, body: 'starting' }, 6000);
  assert.equal(early.failure, null);
  early.record(b!, { status: 200, body: 'Bye' }, 7000);
  assert.equal(early.failure, 'web instance web-b failed its startup check (GET / for "Hello"): the body did not contain "Hello"');

  const ok = new ContentChecks({ web: [{ type: 'startup', path: '/', content: 'Hello' }] });
  assert.equal(ok.allPassed([readyPod('web-a')]), false, 'not passed before it was asked');
  for (const d of ok.due([readyPod('web-a')], 0)) assert.equal(ok.record(d, { status: 200, body: 'Hello' }, 0), true);
  assert.equal(ok.allPassed([readyPod('web-a')]), true);
  assert.deepEqual(ok.due([readyPod('web-a')], 10_000), [], 'a passed instance is not asked again');
  assert.equal(new ContentChecks({ web: [{ type: 'readiness', path: '/' }] }).any, false);
});
