import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStore } from '../support/store.ts';
import { deployable } from '../../server/ops/releases/release.ts';
import { loadConfig } from '../../server/config.ts';

test('formation: set merges, replace restores, rows go with the app', () => {
  withStore((s) => {
    s.apps.create('a');
    assert.deepEqual(s.formation.all('a'), {});
    s.formation.set('a', { web: 2, worker: 1 });
    s.formation.set('a', { worker: 0 });
    assert.deepEqual(s.formation.all('a'), { web: 2, worker: 0 });
    s.formation.replace('a', { web: 1 });
    assert.deepEqual(s.formation.all('a'), { web: 1 });
    s.apps.remove('a');
    assert.deepEqual(s.formation.all('a'), {});
  });
});

test('domains: a host belongs to one app at most', () => {
  withStore((s) => {
    s.apps.create('a');
    s.apps.create('b');
    assert.equal(s.domains.add('a', 'www.example.com'), 'ok');
    assert.equal(s.domains.add('a', 'www.example.com'), 'mine');
    assert.equal(s.domains.add('b', 'www.example.com'), 'taken');
    assert.equal(s.domains.owner('www.example.com'), 'a');
    assert.equal(s.domains.add('a', 'api.example.com'), 'ok');
    assert.deepEqual(s.domains.list('a'), ['www.example.com', 'api.example.com']);
    assert.equal(s.domains.remove('b', 'www.example.com'), false);
    assert.equal(s.domains.remove('a', 'www.example.com'), true);
    assert.equal(s.domains.add('b', 'www.example.com'), 'ok');
    s.apps.remove('a');
    assert.deepEqual(s.domains.list('a'), []);
  });
});

test('deployable() carries the stored formation and the domains, the default one first', () => {
  withStore((s) => {
    const config = loadConfig({ SLIPWAY_BASE_DOMAIN: 'apps.test', SLIPWAY_DATA_DIR: '/nonexistent' });
    s.apps.create('a');
    s.formation.set('a', { worker: 2 });
    s.domains.add('a', 'www.example.com');
    const r = s.releases.create({ app: 'a', description: 'd', commit: null, image: 'r/a@sha256:1', processes: [], config: { K: 'v' } });
    const d = deployable({ config, store: s }, r);
    assert.deepEqual(d.formation, { worker: 2 });
    assert.deepEqual(d.domains, ['a.apps.test', 'www.example.com']);
    assert.deepEqual(d.config, { K: 'v' });
  });
});
