import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDashboardWithWorker, stopDashboard, type DashboardSetup } from './dashboard.js';
import { ROOT } from './harness.js';

/** Debian's chromium (`apt-get install chromium`); OPENCLAW_AGENT_CHROMIUM overrides. */
export const CHROMIUM = process.env.OPENCLAW_AGENT_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'test-output/screenshots');

/** A headless Chromium for one test file; close it in afterAll. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set OPENCLAW_AGENT_CHROMIUM`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A browser context that can reach this machine's loopback only: anything else (Bull Board's web
 * fonts, say) is answered with an error at once instead of waiting on a network that is not there.
 */
export async function loopbackContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort());
  return context;
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return path.join(SCREENSHOTS, name);
}

/** A dashboard with a worker and a client (startDashboardWithWorker), and a browser with a page. */
export interface PanelSetup extends DashboardSetup {
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

/**
 * startDashboardWithWorker(token, options) and a headless Chromium, started side by side, with a new page in
 * a loopback-only context, not logged in yet. Undo with stopPanel. If a step fails, what was
 * already started is stopped first.
 */
export async function startPanelInBrowser(
  token: string,
  options: Parameters<typeof startDashboardWithWorker>[1] = {},
): Promise<PanelSetup> {
  const [launched, started] = await Promise.allSettled([launchBrowser(), startDashboardWithWorker(token, options)]);
  const browser = launched.status === 'fulfilled' ? launched.value : undefined;
  const setup = started.status === 'fulfilled' ? started.value : undefined;
  try {
    if (launched.status === 'rejected') throw launched.reason;
    if (started.status === 'rejected') throw started.reason;
    const context = await loopbackContext(browser!);
    const page = await context.newPage();
    return { ...setup!, browser: browser!, context, page };
  } catch (error) {
    await stopPanel({ ...setup, browser });
    throw error;
  }
}

/** Closes the browser, then the dashboard and the harness; any may be missing after a failed start. */
export async function stopPanel(setup: Partial<Pick<PanelSetup, 'h' | 'dashboard' | 'browser'>> = {}): Promise<void> {
  await setup.browser?.close();
  await stopDashboard(setup);
}

/** Logs in through the form on `page`, which shows it, as a person would, and waits for the panel. */
export async function logIn(page: Page, dashboardUrl: string, token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForURL(`${dashboardUrl}/`);
}

/**
 * Logs in through the one-time link a dashboard without a token prints at start (its `loginUrl`),
 * as its owner would by opening it, and waits for the panel.
 */
export async function logInOnce(page: Page, loginUrl: string): Promise<void> {
  await page.goto(loginUrl);
  await page.waitForURL(`${new URL(loginUrl).origin}/`);
}
