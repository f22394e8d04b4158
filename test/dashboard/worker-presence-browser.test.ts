import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardWithWorker, stopDashboard, type DashboardSetup } from '../helpers/dashboard.js';
import { launchBrowser, logIn, loopbackContext, screenshotPath } from '../helpers/browser.js';

// The panel's executor strip flags an executor no live worker serves (issue 22), in real Chromium.

const TOKEN = `token-${randomUUID()}`;

describe('the panel flags an executor nobody serves', () => {
  let setup: DashboardSetup | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    [browser, setup] = await Promise.all([
      launchBrowser(),
      startDashboardWithWorker(TOKEN, { harness: { extraExecutors: '  - name: idle\n    type: local\n' } }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await stopDashboard(setup ?? {});
  });

  it('shows "no worker" on the unserved executor only', async () => {
    const page = await (await loopbackContext(browser!)).newPage();
    await page.goto(`${setup!.dashboard.url}/`);
    await logIn(page, setup!.dashboard.url, TOKEN);
    const idle = page.locator('#executors .executor[data-executor="idle"]');
    const local = page.locator('#executors .executor[data-executor="local"]');
    await idle.waitFor();
    expect(await idle.locator('.no-worker').textContent()).toBe('no worker');
    expect(await idle.locator('.no-worker').getAttribute('title')).toContain('openclaw-agent worker --executor idle');
    expect(await local.locator('.no-worker').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('executors-no-worker.png') });
  });
});
