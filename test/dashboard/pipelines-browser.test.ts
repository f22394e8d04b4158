import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import type { ApiClient } from '../../src/index.js';
import { logIn, screenshotPath, startPanelInBrowser, stopPanel, type PanelSetup } from '../helpers/browser.js';
import { eventually, type Harness } from '../helpers/harness.js';
import { startTimeTexts } from '../helpers/time-text.js';

const TOKEN = `token-${randomUUID()}`;

// The page's globals used by callbacks that run in the browser (the test program has no DOM types).
declare const window: { __pwned?: number };
declare function getComputedStyle(element: unknown): { color: string; borderTopStyle: string };

interface ExecutorJson {
  name: string;
  paused: boolean;
}
interface ScheduleJson {
  name: string;
  cron: string;
  tz: string;
  paused: boolean;
  next_run_at: string | null;
  last_task_id: string | null;
  last_result: string | null;
}

describe('pipelines, schedules and executor pauses in the panel (Chromium)', () => {
  let panel: PanelSetup;
  let h: Harness;
  let dashboard: RunningDashboard;
  let client: ApiClient;
  let page: Page;

  // The REST API with the bearer token, as a program calls it.
  const call = async <T>(method: string, route: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const response = await fetch(`${dashboard.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: (text ? JSON.parse(text) : null) as T };
  };
  const executor = async (name: string) =>
    (await call<ExecutorJson[]>('GET', '/api/executors')).json.find((e) => e.name === name)!;
  const schedule = async (name: string) =>
    (await call<ScheduleJson[]>('GET', '/api/schedules')).json.find((s) => s.name === name);
  // `openclaw-agent run …` through the real binary; its id.
  const run = async (...args: string[]) => {
    const result = await h.cli(['run', '-e', 'local', ...args]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    return result.stdout.trim();
  };

  beforeAll(async () => {
    panel = await startPanelInBrowser(TOKEN);
    ({ h, dashboard, client, page } = panel);
    await page.goto(`${dashboard.url}/login`);
    await logIn(page, dashboard.url, TOKEN);
  });
  afterAll(() => stopPanel(panel));

  it('shows a task blocked on another with what it waits for, a delayed one as scheduled, every field as text', async () => {
    const gate = path.join(h.dir, `gate-${randomUUID()}`);
    const nameA = 'build <img src=x onerror="window.__pwned = 1">';
    const nameB = '<script>window.__pwned = 2</script> deploy';
    const idA = await run('--name', nameA, '--', 'sh', '-c', `while [ ! -f ${gate} ]; do sleep 0.05; done; echo built`);
    const idB = await run('--after', idA, '--name', nameB, '--', 'echo', 'b');
    const idC = await run(
      '--delay',
      '1h',
      '--priority',
      '3',
      '--concurrency-key',
      'deploy/prod',
      '--',
      'echo',
      'later',
    );
    const waitsForA = `⏳ waiting for task ${idA.slice(0, 8)} (${nameA}) to complete`;

    const shownAfter = Date.now();
    await page.goto(`${dashboard.url}/`);
    const rowB = page.locator(`tr[data-task-id="${idB}"]`);
    const rowC = page.locator(`tr[data-task-id="${idC}"]`);
    await expect.poll(() => rowB.locator('.wait-note').textContent()).toBe(waitsForA);
    expect(await rowB.locator('td.what').textContent()).toBe(nameB);
    expect(await rowB.locator('.status').textContent()).toBe('blocked');
    expect(await rowC.locator('.status').textContent()).toBe('scheduled');
    const noteC = await rowC.locator('.wait-note').textContent();
    const startC = (await call<{ run_at: string }>('GET', `/api/tasks/${idC}`)).json.run_at;
    expect(
      startTimeTexts(startC, [shownAfter, Date.now()]).map((t) => `⏳ waiting for its start time, ${t}`),
    ).toContain(noteC);
    // Each has a look of its own: dashed, in its own colour, unlike queued.
    const look = (status: string) =>
      page
        .locator(`tr.task .status.${status}`)
        .first()
        .evaluate((badge) => [getComputedStyle(badge).color, getComputedStyle(badge).borderTopStyle]);
    expect(await look('blocked')).toEqual(['rgb(210, 168, 255)', 'dashed']);
    expect(await look('scheduled')).toEqual(['rgb(86, 212, 221)', 'dashed']);
    await page.screenshot({ path: screenshotPath('pipeline-list.png'), fullPage: true });

    // The status filter knows the new statuses.
    await page.selectOption('select[name=status]', 'blocked');
    await expect
      .poll(() => page.locator('tr.task').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task-id'))))
      .toEqual([idB]);
    await page.selectOption('select[name=status]', 'scheduled');
    await expect
      .poll(() => page.locator('tr.task').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task-id'))))
      .toEqual([idC]);

    // B's page: what it waits for, and A linked, with A's name and status.
    await page.goto(`${dashboard.url}/tasks/${idB}`);
    await expect.poll(() => page.locator('#waits .wait-note').textContent()).toBe(waitsForA);
    const after = page.locator('#plan dd[data-plan="after"]');
    await expect.poll(() => after.textContent()).toBe(`${idA.slice(0, 8)} ${nameA} running (each must complete)`);
    expect(await after.locator('a').getAttribute('href')).toBe(`/tasks/${idA}`);
    expect(await page.locator('.task-head .what').textContent()).toBe(nameB);
    expect(await page.locator('main img, main script').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('pipeline-blocked-task.png'), fullPage: true });

    // C's page: its start time, priority and concurrency key.
    await page.goto(`${dashboard.url}/tasks/${idC}`);
    await page.locator('#plan dd[data-plan="run_at"]').waitFor();
    const runAt = (await client.get(idC)).run_at!;
    expect(await page.locator('#plan dd[data-plan="run_at"] span').first().getAttribute('title')).toBe(runAt);
    expect(await page.locator('#plan dd[data-plan="run_at"]').textContent()).toMatch(/\(in (59|60)m\)$/);
    expect(await page.locator('#plan dd[data-plan="priority"]').textContent()).toBe('3 (1 runs first)');
    expect(await page.locator('#plan dd[data-plan="concurrency_key"]').textContent()).toBe(
      'deploy/prod (at most 1 running at once)',
    );
    await page.screenshot({ path: screenshotPath('pipeline-scheduled-task.png') });
    // A completes: B runs and the page says so, without a reload.
    await page.goto(`${dashboard.url}/tasks/${idB}`);
    await page.locator('.task-head .status.blocked').waitFor();
    writeFileSync(gate, '');
    await page.locator('.task-head .status.completed').waitFor({ timeout: 15_000 });
    expect(await page.locator('#waits .wait-note').count()).toBe(0);
    await expect.poll(() => after.locator('.status').textContent()).toBe('completed');
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await client.kill(idC);
  });

  it('pauses an executor with its switch, says so on the task that waits for it, and resumes it', async () => {
    await page.goto(`${dashboard.url}/`);
    const chip = page.locator('#executors [data-executor="local"]');
    const toggle = chip.locator('button[role=switch]');
    await toggle.waitFor();
    expect(await toggle.getAttribute('aria-checked')).toBe('false');
    try {
      await toggle.click();
      await expect.poll(() => chip.locator('.state').textContent()).toBe('paused');
      expect(await toggle.getAttribute('aria-checked')).toBe('true');
      expect((await executor('local')).paused).toBe(true);

      const id = await run('--name', 'waits for the pause', '--', 'echo', 'after the pause');
      const row = page.locator(`tr[data-task-id="${id}"]`);
      await expect
        .poll(() => row.locator('.wait-note').textContent())
        .toBe('⏳ waiting for executor "local" to be resumed (paused)');
      expect(await row.locator('.status').textContent()).toBe('queued');
      await page.screenshot({ path: screenshotPath('executor-paused.png'), fullPage: true });

      await toggle.click();
      await expect.poll(() => chip.locator('.state').textContent()).toBe('active');
      expect(await toggle.getAttribute('aria-checked')).toBe('false');
      expect((await executor('local')).paused).toBe(false);
      await expect.poll(() => row.locator('.status').textContent(), { timeout: 15_000 }).toBe('completed');
    } finally {
      await call('POST', '/api/executors/local/resume', {});
    }
  });

  it('lists schedules with cron, next run and last result, and pauses, resumes and deletes one from the page', async () => {
    const created = await call<ScheduleJson>('POST', '/api/schedules', {
      name: 'nightly',
      cron: '0 3 * * *',
      tz: 'Europe/Prague',
      task: {
        executor: 'local',
        payload: { type: 'shell_command', command: 'echo "<img src=x onerror=\'window.__pwned = 3\'>" nightly' },
      },
    });
    expect(created.status).toBe(201);
    // One that fires every second, for a last result; paused after its first tick.
    await call('POST', '/api/schedules', {
      name: 'every-second',
      cron: '* * * * * *',
      task: { executor: 'local', payload: { type: 'shell_command', command: 'echo tick' } },
    });
    await eventually(async () => ((await schedule('every-second'))?.last_task_id ? true : undefined), 'a first tick');
    expect((await call<ScheduleJson>('POST', '/api/schedules/every-second/pause', {})).json.paused).toBe(true);

    await page.goto(`${dashboard.url}/`);
    await page.click('header nav a[href="/schedules"]');
    await page.waitForURL(`${dashboard.url}/schedules`);
    const nightly = page.locator('tr[data-schedule="nightly"]');
    await nightly.waitFor();
    const next = (await schedule('nightly'))!.next_run_at!;
    expect(await nightly.locator('td.cron').textContent()).toBe('0 3 * * *Europe/Prague');
    expect(await nightly.locator('.next .relative').getAttribute('title')).toBe(next);
    expect(await nightly.locator('.next .relative').textContent()).toMatch(/^in \d+(h|m|d)/);
    expect(await nightly.locator('.next .absolute').textContent()).toMatch(/03:00.* Europe\/Prague$/);
    expect(await nightly.locator('.last').textContent()).toBe('never');
    expect(await nightly.locator('td.what').textContent()).toContain(`<img src=x onerror='window.__pwned = 3'>`);
    expect(await nightly.locator('.overlap').textContent()).toBe('queue');

    const ticking = page.locator('tr[data-schedule="every-second"]');
    expect(await ticking.locator('.state').textContent()).toBe('paused');
    expect(await ticking.locator('a.fired').getAttribute('href')).toBe('/?label=schedule%3Aevery-second');
    expect(await ticking.locator('.last .result').textContent()).toMatch(/^started/);
    const lastTask = ticking.locator('.last a.last-task');
    // (A tick handed out just before the pause may still land: the page catches up at its next refresh.)
    await expect
      .poll(async () => [await lastTask.getAttribute('href'), (await schedule('every-second'))!.last_task_id])
      .toSatisfy(([href, last]) => href === `/tasks/${last}`);
    await page.screenshot({ path: screenshotPath('schedules.png'), fullPage: true });

    // The tick's task links back to its schedule.
    await lastTask.click();
    const link = page.locator('#plan dd[data-plan="schedule"] a');
    await link.waitFor();
    expect(await link.textContent()).toBe('every-second');
    await link.click();
    await page.waitForURL(`${dashboard.url}/schedules#schedule-every-second`);
    await nightly.waitFor();

    await nightly.locator('button[data-action="pause"]').click();
    await expect.poll(() => nightly.locator('.state').textContent()).toBe('paused');
    expect(await schedule('nightly')).toMatchObject({ paused: true, next_run_at: null });
    expect(await nightly.locator('.next').textContent()).toBe('paused');
    await nightly.locator('button[data-action="resume"]').click();
    await expect.poll(() => nightly.locator('.state').textContent()).toBe('active');
    expect((await schedule('nightly'))!.next_run_at).toBe(next);

    let question = '';
    page.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.accept();
    });
    await nightly.locator('button[data-action="delete"]').click();
    await expect.poll(() => nightly.count()).toBe(0);
    expect(question).toBe('Delete schedule "nightly"? The tasks it made stay.');
    expect(await schedule('nightly')).toBeUndefined();
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await call('DELETE', '/api/schedules/every-second');
  });

  it('shows schedules and executors without switches or buttons in read-only mode', async () => {
    const readOnly = await startDashboard({ config: h.config(), port: 0, readOnly: true });
    const viewer = await panel.context.newPage();
    try {
      await call('POST', '/api/schedules', {
        name: 'look-only',
        cron: '0 3 * * *',
        task: { executor: 'local', payload: { type: 'shell_command', command: 'echo look' } },
      });
      await viewer.goto(`${readOnly.url}/schedules`);
      await viewer.locator('tr[data-schedule="look-only"]').waitFor();
      expect(await viewer.locator('main button').count()).toBe(0);
      await viewer.goto(`${readOnly.url}/`);
      await viewer.locator('#executors [data-executor="local"] .state').waitFor();
      expect(await viewer.locator('#executors button').count()).toBe(0);
    } finally {
      await viewer.close();
      await readOnly.close();
      await call('DELETE', '/api/schedules/look-only');
    }
  });
});
