// The rule for an app's state in apps:list and the dashboard, and the config keys a release
// changed (names only), as pure functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appState } from '../../server/ops/apps.ts';
import { configChanges } from '../../server/store/releases.ts';

test('an app is deploying, failed, stopped, new or running, in that order of precedence', () => {
  const cases: [Parameters<typeof appState>[0], string][] = [
    [{ lastDeploy: undefined, stopped: false, released: false }, 'new'],
    [{ lastDeploy: 'running', stopped: false, released: false }, 'deploying'],
    [{ lastDeploy: 'failed', stopped: false, released: false }, 'failed'],
    [{ lastDeploy: 'succeeded', stopped: false, released: true }, 'running'],
    [{ lastDeploy: undefined, stopped: false, released: true }, 'running'],
    // A deploy under way wins over everything; a failed last deploy over stopped processes.
    [{ lastDeploy: 'running', stopped: true, released: true }, 'deploying'],
    [{ lastDeploy: 'failed', stopped: true, released: true }, 'failed'],
    [{ lastDeploy: 'succeeded', stopped: true, released: true }, 'stopped'],
  ];
  for (const [input, state] of cases) assert.equal(appState(input), state, JSON.stringify(input));
});

test('configChanges names the keys added, changed and removed, sorted, never a value', () => {
  assert.deepEqual(configChanges({}, {}), { added: [], changed: [], removed: [] });
  assert.deepEqual(
    configChanges({ KEEP: 'same', B: 'old', GONE: 'x' }, { KEEP: 'same', B: 'new', A: 'secret', C: '' }),
    { added: ['A', 'C'], changed: ['B'], removed: ['GONE'] },
  );
  assert.doesNotMatch(JSON.stringify(configChanges({ B: 'old' }, { B: 'new-secret' })), /secret|old/);
});
