import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { until as untilShared } from '../../src/testing/until.ts';

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). */
export const CHROMIUM = process.env.EIM_CHROMIUM ?? '/usr/bin/chromium';
/** Where screenshots go (gitignored). */
export const OUTPUT_DIR = join('test-output', 'console');

/**
 * Why the browser tests cannot run here, or undefined when they can. Under CI a missing browser
 * is a failure, not a skip: .ci/run installs it.
 * @example const why = browserUnavailable(); test('…', { skip: why }, …)
 */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `chromium is not installed at ${CHROMIUM} (apt-get install -y chromium, or set EIM_CHROMIUM)`;
  if (process.env.CI) throw new Error(`${why}; CI must run the browser tests (.ci/run installs it)`);
  return why;
}

/** Headless chromium, launched as the issue asks. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A page signed in to the console at `url` with `token`, its stream live.
 * @example const page = await signIn(browser, server.url, server.token)
 */
export async function signIn(browser: Browser, url: string, token: string, viewport = { width: 1440, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  await page.goto(url);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 30_000 });
  return page;
}

/** The number on a status tile (`total`, `running`, …). */
export async function tileCount(page: Page, key: string): Promise<number> {
  return Number(await page.locator(`[data-count="${key}"] .count`).textContent());
}

/** Saves a screenshot under OUTPUT_DIR; the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/**
 * The shared `until` with `what` first, every 100 ms (each call asks the server or the page), 30 s by default.
 * @example await until('every host running', async () => (await tileCount(page, 'running')) === 12)
 */
export const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => untilShared(fn, what, { timeoutMs: ms, intervalMs: 100 });
