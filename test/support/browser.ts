// A real browser for the dashboard's tests: Debian's Chromium (testbed/parts/80-browser.sh puts
// it at SLIPWAY_CHROMIUM) driven by playwright-core, which downloads nothing. axe-core checks
// each page's accessibility; screenshots go outside the checkout (they are not committed).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Where screenshots are written: SLIPWAY_SCREENSHOTS, else $TMPDIR/slipway-screenshots. */
export const SCREENSHOT_DIR = process.env.SLIPWAY_SCREENSHOTS ?? join(tmpdir(), 'slipway-screenshots');

/** The Chromium to drive: SLIPWAY_CHROMIUM (the testbed's export), else Debian's /usr/bin/chromium; undefined when neither exists. */
export function chromiumPath(): string | undefined {
  const bin = process.env.SLIPWAY_CHROMIUM ?? '/usr/bin/chromium';
  return existsSync(bin) ? bin : undefined;
}

/** The Chromium executable, or undefined after skipping the test (only when the testbed is opted out). */
export function needBrowser(t: TestContext): string | undefined {
  const bin = chromiumPath();
  if (bin) return bin;
  if (process.env.SLIPWAY_TESTBED === '0') {
    t.skip('SLIPWAY_TESTBED=0: browser tests opted out (no Chromium: testbed/parts/80-browser.sh installs it)');
    return undefined;
  }
  throw new Error(`Chromium is not installed (${process.env.SLIPWAY_CHROMIUM ?? '/usr/bin/chromium'}): run testbed/up.sh (its part 80-browser.sh installs Debian's chromium) or set SLIPWAY_CHROMIUM; SLIPWAY_TESTBED=0 skips browser tests`);
}

/** Starts headless Chromium at `executablePath`. */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  // No sandbox: tests run as root in a container, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A fresh context (its own cookies) and page; every console error and page error is collected. */
export async function newPage(browser: Browser, opts: { baseURL?: string } = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: opts.baseURL, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return { context, page, errors };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One axe-core violation as the test shows it. */
export interface Violation { id: string; impact: string | null; help: string; nodes: string[] }

/**
 * Runs axe-core on the page and fails on any serious or critical violation. axe is evaluated as a
 * script in the page (the dashboard's CSP forbids inline <script> tags, not DevTools evaluation).
 */
export async function checkAxe(page: Page, what = page.url()): Promise<Violation[]> {
  const has = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  if (!has) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe-core: serious accessibility violations on ${what}:\n${bad.map((v) => `  ${v.id} (${v.impact}): ${v.help} at ${v.nodes.join(', ')}`).join('\n')}`);
  return violations;
}

/** Saves a full-page screenshot as SCREENSHOT_DIR/NAME.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
