// appUrl is the one place that decides an app's web address, scheme included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appUrl } from '../../server/urls.ts';

const config = { baseDomain: 'apps.example.com' };

test('an app is announced over https once its default host\'s certificate is issued, else over http', () => {
  assert.equal(appUrl(config, 'web'), 'http://web.apps.example.com', 'no TLS');
  assert.equal(appUrl(config, 'web', []), 'http://web.apps.example.com', 'no certificates reported');
  for (const state of ['pending', 'failed', 'none']) {
    assert.equal(appUrl(config, 'web', [{ host: 'web.apps.example.com', state }]), 'http://web.apps.example.com', state);
  }
  assert.equal(appUrl(config, 'web', [{ host: 'web.apps.example.com', state: 'issued' }]), 'https://web.apps.example.com');
  // A custom domain's certificate does not make the default host's URL https.
  assert.equal(appUrl(config, 'web', [{ host: 'web.apps.example.com', state: 'pending' }, { host: 'www.example.com', state: 'issued' }]), 'http://web.apps.example.com');
});
