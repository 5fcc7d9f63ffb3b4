import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.ts';

test('defaults follow the public contract', () => {
  const c = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' });
  assert.equal(c.sshPort, 2222);
  assert.equal(c.httpPort, 8080);
  assert.match(c.dataDir, /\/data$/);
  assert.equal(c.builderImage, 'heroku/builder:24');
  assert.equal(c.registry, '127.0.0.1:5000');
  assert.ok(Object.isFrozen(c));
});

test('bad values are refused with one sentence', () => {
  assert.throws(() => loadConfig({ SLIPWAY_SSH_PORT: 'abc' }), /SLIPWAY_SSH_PORT must be a port number/);
  assert.throws(() => loadConfig({ SLIPWAY_HTTP_PORT: '70000' }), /SLIPWAY_HTTP_PORT/);
  assert.throws(() => loadConfig({ SLIPWAY_BASE_DOMAIN: 'bad domain' }), /SLIPWAY_BASE_DOMAIN/);
  assert.throws(() => loadConfig({ SLIPWAY_MAX_PUSH_MB: '-1' }), /SLIPWAY_MAX_PUSH_MB/);
});

test('the default base domain is the host address under sslip.io', () => {
  assert.match(loadConfig({}).baseDomain, /^\d+\.\d+\.\d+\.\d+\.sslip\.io$/);
});
