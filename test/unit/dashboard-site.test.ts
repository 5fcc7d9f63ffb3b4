// doctor's `dashboard site` check: whether apps (APP.BASE_DOMAIN) can set cookies that reach the
// dashboard's host, so an operator learns that the dashboard should move (issue 35, item 9).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commonParent, dashboardSiteOutcome, sharedCookieDomain } from '../../server/ops/admin/dashboard-site.ts';
import { loadConfig } from '../../server/config.ts';

test('the shared parent domain of the dashboard and an app host', () => {
  assert.equal(commonParent('slipway.apps.example.com', 'x.apps.example.com'), 'apps.example.com');
  assert.equal(commonParent('Dash.Example.com.', 'x.apps.example.com'), 'example.com');
  assert.equal(commonParent('example.org', 'x.example.com'), '');
  assert.equal(sharedCookieDomain('slipway.1.2.3.4.sslip.io', '1.2.3.4.sslip.io'), '1.2.3.4.sslip.io', "install.sh's default: a sibling of every app");
  assert.equal(sharedCookieDomain('dash.example.com', 'apps.example.com'), 'example.com', 'a sibling of the apps\' domain');
  assert.equal(sharedCookieDomain('apps.example.com', 'apps.example.com'), 'apps.example.com', 'the base domain itself');
  assert.equal(sharedCookieDomain('slipway.example.net', 'apps.example.com'), undefined, 'another registrable domain');
  assert.equal(sharedCookieDomain('paas.com', 'apps.example.com'), undefined, 'only the top-level domain in common');
  assert.equal(sharedCookieDomain('203.0.113.7', '203.0.113.7.sslip.io'), undefined, 'an address gets no cookie of a name');
  assert.equal(sharedCookieDomain('[2001:db8::1]', 'apps.example.com'), undefined);
});

test('doctor warns (and passes) when apps can set cookies for the dashboard, and says what to set', () => {
  const outcome = (env: Record<string, string>) => dashboardSiteOutcome(loadConfig({ SLIPWAY_HOST: '203.0.113.7', ...env }));
  assert.deepEqual(outcome({ SLIPWAY_BASE_DOMAIN: 'apps.example.com', SLIPWAY_DASHBOARD_URL: 'https://slipway.example.net' }),
    { ok: true, detail: "apps (*.apps.example.com) cannot set cookies for the dashboard's host slipway.example.net" });
  assert.deepEqual(outcome({ SLIPWAY_BASE_DOMAIN: 'apps.example.com' }),
    { ok: true, detail: "apps (*.apps.example.com) cannot set cookies for the dashboard's host 203.0.113.7" }, 'the default http://HOST:PORT on an address');

  const under = outcome({ SLIPWAY_BASE_DOMAIN: '203.0.113.7.sslip.io', SLIPWAY_DASHBOARD_URL: 'http://slipway.203.0.113.7.sslip.io' });
  assert.equal(under.ok, true);
  assert.equal(under.detail, "warning: the dashboard's host slipway.203.0.113.7.sslip.io is under the apps' domain 203.0.113.7.sslip.io and is under sslip.io, where anyone may have a site (it is not a public suffix): those sites can set cookies it receives and so log a browser in as their owner's key (over plain HTTP the session cookie cannot be __Host-); serve the dashboard over HTTPS, on a host under no parent domain an app's host or another party's site is under (SLIPWAY_DASHBOARD_URL)");

  const sibling = outcome({ SLIPWAY_BASE_DOMAIN: 'apps.example.com', SLIPWAY_DASHBOARD_URL: 'https://dash.example.com' });
  assert.equal(sibling.ok, true);
  assert.match(sibling.detail, /^warning: the dashboard's host dash\.example\.com shares the parent domain example\.com with the apps \(\*\.apps\.example\.com\), unless example\.com is a public suffix: those sites can set cookies it receives and so log its users out \(not in as another key: the session cookie is __Host-\); serve the dashboard over HTTPS, on a host/);
});
