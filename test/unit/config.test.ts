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

test('garbage collection settings: defaults, and one sentence for a bad value', () => {
  const c = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' });
  assert.equal(c.keepReleases, 10);
  assert.equal(c.gcIntervalMs, 6 * 3600 * 1000);
  assert.equal(c.registryGcConfig, undefined);
  assert.equal(c.registryBinary, 'docker-registry');
  assert.equal(loadConfig({ SLIPWAY_KEEP_RELEASES: '3', SLIPWAY_GC_INTERVAL_S: '0' }).keepReleases, 3);
  assert.equal(loadConfig({ SLIPWAY_GC_INTERVAL_S: '0' }).gcIntervalMs, 0);
  assert.throws(() => loadConfig({ SLIPWAY_KEEP_RELEASES: '0' }), { message: 'SLIPWAY_KEEP_RELEASES must be a whole number of at least 1, got "0".' });
  assert.throws(() => loadConfig({ SLIPWAY_KEEP_RELEASES: 'ten' }), /SLIPWAY_KEEP_RELEASES must be a whole number/);
  assert.throws(() => loadConfig({ SLIPWAY_GC_INTERVAL_S: '1.5' }), { message: 'SLIPWAY_GC_INTERVAL_S must be a whole number of seconds (0 turns it off), got "1.5".' });
});
