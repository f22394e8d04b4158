import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../src/index.js';
import { logIn, screenshotPath, startPanelInBrowser, stopPanel, type PanelSetup } from '../helpers/browser.js';
import { eventually, type Harness } from '../helpers/harness.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const TOKEN = `token-${randomUUID()}`;
const XSS = '<img src=x onerror="window.__pwned = 1">';

// The page's globals used by callbacks that run in the browser (the test program has no DOM types).
declare const document: { getElementById(id: string): { textContent: string | null } | null };
declare const window: { __pwned?: number };
declare function getComputedStyle(element: unknown): { fill: string; display: string };
interface Scroller {
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
}

interface TaskJson {
  task_id: string;
  executor: string;
  status: string;
  name: string | null;
  exit_code: number | null;
  duration_ms: number | null;
  started_at: string | null;
  finished_at: string | null;
  created_at: string;
  labels: string[];
  task_type: string;
  webhooks?: { target: string; state: string }[];
  claude?: {
    model?: string;
    num_turns?: number;
    input_tokens?: number;
    output_tokens?: number;
    total_cost_usd?: number;
  };
}

// The panel's duration format ('4.2s', '12s', '3m 05s'), the oracle for what the page shows.
function formatDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  if (s < 60) return (ms < 10000 ? (ms / 1000).toFixed(1) : String(s)) + 's';
  const m = Math.floor(s / 60);
  s %= 60;
  return `${m}m ${s < 10 ? '0' : ''}${s}s`;
}

describe('task page and charts in a real browser (Chromium)', () => {
  let panel: PanelSetup;
  let h: Harness;
  let client: ApiClient;
  let page: Page;
  let url: string;

  const get = async <T>(route: string): Promise<T> => {
    const response = await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status, route).toBe(200);
    return (await response.json()) as T;
  };
  const task = (id: string) => get<TaskJson>(`/api/tasks/${id}`);
  const shell = (command: string, extra: { name?: string; labels?: string[]; executor?: string } = {}) =>
    client.create({
      executor: extra.executor ?? 'local',
      payload: { type: 'shell_command', command },
      workdir: '/tmp',
      name: extra.name,
      labels: extra.labels,
    });
  const fact = (key: string) => page.locator(`#facts [data-fact="${key}"] .v`);

  beforeAll(async () => {
    panel = await startPanelInBrowser(TOKEN, {
      harness: { extraExecutors: '  - name: other\n    type: local\n    concurrency: 1\n' },
    });
    ({ h, client, page } = panel);
    url = panel.dashboard.url;
    await h.startWorker('other');
    await page.goto(`${url}/`);
    await logIn(page, url, TOKEN);
  });
  afterAll(() => stopPanel(panel));

  it('heads a failed and a succeeded task with command, executor, status, exit code, duration and times', async () => {
    const failed = await shell('echo about to fail; sleep 0.3; exit 3');
    const passed = await shell('echo all good', { labels: ['nightly', 'rust'] });
    await client.wait([failed.task_id, passed.task_id]);

    await page.goto(`${url}/tasks/${failed.task_id}`);
    await page.waitForSelector('.task-head .status.failed');
    const bad = await task(failed.task_id);
    expect(await page.locator('.task-head .what').textContent()).toBe('echo about to fail; sleep 0.3; exit 3');
    expect(await page.locator('.task-head .icon').textContent()).toBe('⚙️');
    expect(await fact('executor').locator('.name').textContent()).toBe('local');
    expect(await fact('exit').textContent()).toBe('exit 3');
    expect(await fact('exit').locator('.bad').count()).toBe(1);
    expect(await fact('duration').textContent()).toBe(formatDuration(bad.duration_ms!));
    expect(await fact('started').locator('.rel').getAttribute('title')).toBe(bad.started_at);
    expect(await fact('started').locator('.rel').textContent()).toMatch(/^\d+s ago$/);
    expect(await fact('ended').locator('.rel').getAttribute('title')).toBe(bad.finished_at);
    // Empty things are left out: no labels, no attempts list, no Claude facts, no `-` or `[]`.
    expect(await page.locator('#facts [data-fact="labels"], #facts [data-fact="attempts"]').count()).toBe(0);
    expect(await page.locator('#facts [data-fact="cost"], #facts [data-fact="model"]').count()).toBe(0);
    expect(await page.locator('#facts').textContent()).not.toMatch(/\[\]|(^|\s)-(\s|$)/);
    // The command shows on one line; a click shows all of it, another folds it again.
    const what = page.locator('.task-head .what');
    expect(await what.getAttribute('class')).toBe('what mono clamp');
    await what.click();
    expect(await what.getAttribute('class')).toBe('what mono clamp expanded');
    await what.click();
    expect(await what.getAttribute('class')).toBe('what mono clamp');
    // The raw record is one click away, folded.
    expect(await page.locator('#raw-record').getAttribute('open')).toBeNull();
    expect(await page.locator('#raw-record dd[data-field="exit_code"]').textContent()).toBe('3');
    await page.screenshot({ path: screenshotPath('task-page-failed.png'), fullPage: true });

    await page.goto(`${url}/tasks/${passed.task_id}`);
    await page.waitForSelector('.task-head .status.completed');
    const good = await task(passed.task_id);
    expect(await page.locator('.task-head .what').textContent()).toBe('echo all good');
    expect(await fact('exit').textContent()).toBe('exit 0');
    expect(await fact('exit').locator('.ok').count()).toBe(1);
    expect(await fact('duration').textContent()).toBe(formatDuration(good.duration_ms!));
    expect(await fact('labels').locator('li.label').allTextContents()).toEqual(['nightly', 'rust']);
  });

  it('heads a Claude task with its model, turns, tokens and cost, and lists each attempt of a retried task', async () => {
    const { task_id: id } = await client.create({
      executor: 'local',
      payload: { type: 'claude_code', prompt: 'Fix the flaky test turns:2' },
      workdir: '/tmp',
    });
    await client.wait(id);
    const record = await task(id);
    const c = record.claude!;
    await page.goto(`${url}/tasks/${id}`);
    await page.waitForSelector('.task-head .status.completed');
    expect(await page.locator('.task-head .icon').textContent()).toBe('🤖');
    expect(await page.locator('.task-head .what').textContent()).toBe('Fix the flaky test turns:2');
    expect(await fact('model').textContent()).toBe(c.model);
    expect(await fact('turns').textContent()).toBe(String(c.num_turns));
    expect(await fact('tokens').textContent()).toBe(
      `${c.input_tokens!.toLocaleString('en-US')} in · ${c.output_tokens!.toLocaleString('en-US')} out`,
    );
    expect(await fact('cost').textContent()).toBe(`$${c.total_cost_usd!.toFixed(4)}`);
    await page.screenshot({ path: screenshotPath('task-page-claude.png'), fullPage: true });

    const flag = path.join(h.dir, `second-try-${randomUUID()}`);
    const { task_id: retried } = await client.create({
      executor: 'local',
      payload: { type: 'shell_command', command: `if [ -f ${flag} ]; then echo ok; else touch ${flag}; exit 5; fi` },
      workdir: '/tmp',
      retries: 1,
      backoff_ms: 100,
    });
    await client.wait(retried);
    await page.goto(`${url}/tasks/${retried}`);
    await page.waitForSelector('.task-head .status.completed');
    expect(await page.locator('#facts [data-fact="attempts"] .k').textContent()).toBe('2 attempts');
    expect(await page.locator('#facts ul.attempts li').allTextContents()).toEqual([
      '#1 failed (5)',
      '#2 completed (0)',
    ]);
  });

  it("lists a task's webhook deliveries with their outcome, the URL by its origin only", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    try {
      const secret = `hook-${randomUUID()}`;
      const { task_id: id } = await client.create({
        executor: 'local',
        payload: { type: 'shell_command', command: 'echo announce me' },
        workdir: '/tmp',
        callback_url: `${receiver.url}/done/${secret}`,
      });
      await client.wait(id);
      await eventually(
        async () => ((await task(id)).webhooks?.[0]?.state === 'delivered' ? true : undefined),
        'the webhook delivered',
      );
      await page.goto(`${url}/tasks/${id}`);
      const chip = page.locator('#facts ul.deliveries li');
      await expect.poll(() => chip.allTextContents()).toEqual([`webhook ${receiver.url}: delivered`]);
      expect(await chip.getAttribute('class')).toBe('delivery delivered');
      expect(await page.locator('#facts').textContent()).not.toContain(secret);
    } finally {
      await receiver.stop();
    }
  });

  it('numbers the log lines, finds lines with the search box and counts them, and downloads the raw log', async () => {
    const bytes = 'alpha one\nbeta\n\x1b[31mALPHA two\x1b[0m\ngamma\nthe alphabet\nlast line, no newline';
    const { task_id: id } = await shell(`printf '${bytes.replaceAll('\x1b', '\\033')}'`);
    await client.wait(id);
    await page.goto(`${url}/tasks/${id}`);
    await expect.poll(() => page.locator('#log-state').textContent()).toMatch(/^ended: completed/);
    const lines = page.locator('#log .line');
    expect(await lines.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-n')))).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
    // The numbers are drawn by CSS: the lines' text is the output alone.
    expect(await lines.first().textContent()).toBe('alpha one');

    await page.fill('#log-search', 'alpha');
    await expect.poll(() => page.locator('#log-matches').textContent()).toBe('3 matching lines');
    expect(await page.locator('#log .line.match').allTextContents()).toEqual([
      'alpha one',
      'ALPHA two',
      'the alphabet',
    ]);
    await page.check('#log-only');
    const shown = await lines.evaluateAll((nodes) =>
      nodes.filter((n) => getComputedStyle(n).display !== 'none').map((n) => n.textContent),
    );
    expect(shown).toEqual(['alpha one', 'ALPHA two', 'the alphabet']);
    await page.screenshot({ path: screenshotPath('task-page-log-search.png'), fullPage: true });
    await page.fill('#log-search', 'no such words');
    await expect.poll(() => page.locator('#log-matches').textContent()).toBe('0 matching lines');
    await page.fill('#log-search', '');
    await expect.poll(() => page.locator('#log-matches').textContent()).toBe('');
    // With nothing to find, "only matching lines" hides nothing.
    await expect.poll(() => lines.filter({ visible: true }).count()).toBe(6);

    const href = await page.locator('#log-download').getAttribute('href');
    expect(href).toBe(`/api/tasks/${id}/logs/file`);
    const download = await page.request.get(`${url}${href}`);
    expect(download.status()).toBe(200);
    expect(download.headers()['content-type']).toBe('text/plain; charset=utf-8');
    expect(download.headers()['content-disposition']).toBe(`attachment; filename="task-${id.slice(0, 8)}.log"`);
    expect((await download.body()).toString('utf8')).toBe(bytes);
  });

  it('follows a running task to its last line, stops when toggled off, and jumps to the end', async () => {
    const gate = path.join(h.dir, `gate-${randomUUID()}`);
    const { task_id: id } = await shell(
      `for n in $(seq 1 120); do echo "first batch $n"; done; while [ ! -f ${gate}.1 ]; do sleep 0.02; done; ` +
        `for n in $(seq 1 60); do echo "second batch $n"; done; while [ ! -f ${gate}.2 ]; do sleep 0.02; done; ` +
        `for n in $(seq 1 60); do echo "third batch $n"; done; sleep 30`,
    );
    const log = page.locator('#log');
    const atEnd = () =>
      log.evaluate((node) => {
        const box = node as unknown as Scroller;
        return box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
      });
    const scrollTop = () => log.evaluate((node) => (node as unknown as Scroller).scrollTop);
    const hasText = (text: string) =>
      page.waitForFunction((t) => document.getElementById('log')?.textContent?.includes(t), text, {
        timeout: 15_000,
      });
    await page.goto(`${url}/tasks/${id}`);
    await hasText('first batch 120');
    expect(await page.locator('#log-follow').getAttribute('aria-pressed')).toBe('true');
    await expect.poll(atEnd).toBe(true);
    writeFileSync(`${gate}.1`, '');
    await hasText('second batch 60');
    await expect.poll(atEnd).toBe(true);
    expect(await scrollTop()).toBeGreaterThan(0);

    await page.click('#log-follow');
    expect(await page.locator('#log-follow').getAttribute('aria-pressed')).toBe('false');
    await log.evaluate((node) => {
      (node as unknown as Scroller).scrollTop = 0;
    });
    writeFileSync(`${gate}.2`, '');
    await hasText('third batch 60');
    // Lines arrived and were drawn; the view stayed where it was put.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));
    expect(await scrollTop()).toBe(0);
    expect(await page.locator('#log-follow').getAttribute('aria-pressed')).toBe('false');

    await page.click('#log-end');
    await expect.poll(atEnd).toBe(true);
    expect(await page.locator('#log-follow').getAttribute('aria-pressed')).toBe('true');
    await client.kill(id, { graceMs: 100 });
    await client.wait(id);
  });

  it("draws the task's duration against its earlier runs, with the median of those that completed", async () => {
    const name = `nightly build ${randomUUID().slice(0, 6)}`;
    const ids: string[] = [];
    for (const command of ['sleep 0.4', 'sleep 0.2', 'exit 1', 'sleep 0.6', 'sleep 0.3', 'sleep 0.1']) {
      const { task_id: id } = await shell(command, { name });
      await client.wait(id);
      ids.push(id);
    }
    // Same words, another name: not a run of the series.
    await client.wait((await shell('sleep 0.1', { name: `${name} extra` })).task_id);
    const records = await Promise.all(ids.map(task));
    const current = ids.at(-1)!;
    await page.goto(`${url}/tasks/${current}`);
    const bars = page.locator('#history-bars rect.bar');
    await expect.poll(() => bars.count()).toBe(ids.length);
    const drawn = await bars.evaluateAll((rects) =>
      rects.map((r) => ({
        id: r.getAttribute('data-task-id'),
        ms: Number(r.getAttribute('data-duration-ms')),
        cls: r.getAttribute('class'),
      })),
    );
    expect(drawn.map((b) => b.id)).toEqual(ids);
    expect(drawn.map((b) => b.ms)).toEqual(records.map((r) => r.duration_ms));
    expect(drawn.map((b) => b.cls)).toEqual(
      records.map((r, i) => `bar ${r.status}${i === records.length - 1 ? ' current' : ''}`),
    );
    const earlier = records
      .slice(0, -1)
      .filter((r) => r.status === 'completed')
      .map((r) => r.duration_ms!)
      .sort((a, b) => a - b);
    expect(earlier).toHaveLength(4);
    const median = Math.round((earlier[1]! + earlier[2]!) / 2);
    expect(await page.locator('#history-summary').textContent()).toBe(
      `usually ${formatDuration(median)} (median of 4 runs), this one ${formatDuration(records.at(-1)!.duration_ms!)}`,
    );
    await page.screenshot({ path: screenshotPath('task-page-history.png'), fullPage: true });
  });

  it("draws each executor's last hours: one bar per task, coloured by outcome, and the queue depth", async () => {
    // Three at once on an executor that runs one at a time: two wait.
    const queued = await Promise.all([1, 2, 3].map((n) => shell(`sleep 0.5; echo ${n}`, { executor: 'other' })));
    await client.wait(queued.map((t) => t.task_id));
    await client.wait((await shell('exit 2', { executor: 'other' })).task_id);
    const all = (await get<{ tasks: TaskJson[] }>('/api/tasks?limit=1000')).tasks;
    expect(all.every((t) => t.finished_at !== null)).toBe(true);
    await page.goto(`${url}/`);
    for (const executor of ['local', 'other']) {
      const mine = all.filter((t) => t.executor === executor && t.started_at !== null);
      const box = page.locator(`.timeline-box[data-executor="${executor}"]`);
      const bars = box.locator('rect.bar');
      await expect.poll(() => bars.count(), { timeout: 15_000 }).toBe(mine.length);
      const drawn = await bars.evaluateAll((rects) =>
        rects.map((r) => [r.getAttribute('data-task-id'), r.getAttribute('class')] as const),
      );
      expect(new Map(drawn)).toEqual(new Map(mine.map((t) => [t.task_id, `bar ${t.status}`])));
    }
    const colour = (status: string) =>
      page
        .locator(`.timeline-box rect.bar.${status}`)
        .first()
        .evaluate((r) => getComputedStyle(r).fill);
    expect(await colour('completed')).toBe('rgb(63, 185, 80)');
    expect(await colour('failed')).toBe('rgb(248, 81, 73)');
    // The deepest queue, from the records: at each creation, the tasks created and not yet started.
    const others = all.filter((t) => t.executor === 'other');
    const deepest = Math.max(
      ...others.map(
        (at) =>
          others.filter((t) => t.created_at <= at.created_at && (t.started_at ?? t.finished_at!) > at.created_at)
            .length,
      ),
    );
    expect(deepest).toBeGreaterThanOrEqual(2);
    expect(await page.locator('.timeline-box[data-executor="other"] path.depth').getAttribute('data-max-depth')).toBe(
      String(deepest),
    );
    await page.screenshot({ path: screenshotPath('panel-timeline.png'), fullPage: true });
  });

  it('draws the cost of Claude tasks per day, each day the sum of its tasks', async () => {
    const made = await Promise.all(
      ['turns:1', 'turns:3'].map((p) =>
        client.create({ executor: 'local', payload: { type: 'claude_code', prompt: `Cost ${p}` }, workdir: '/tmp' }),
      ),
    );
    await client.wait(made.map((t) => t.task_id));
    const claude = (await get<{ tasks: TaskJson[] }>('/api/tasks?type=claude_code&limit=1000')).tasks;
    const sums = new Map<string, number>();
    for (const t of claude) {
      const day = t.created_at.slice(0, 10);
      sums.set(day, (sums.get(day) ?? 0) + (t.claude?.total_cost_usd ?? 0));
    }
    expect(sums.size).toBeGreaterThan(0);
    await page.goto(`${url}/`);
    const bars = page.locator('#cost-bars rect.bar');
    await expect.poll(() => bars.count(), { timeout: 15_000 }).toBe(14);
    const drawn = await bars.evaluateAll((rects) =>
      rects.map((r) => [r.getAttribute('data-date')!, Number(r.getAttribute('data-cost-usd'))] as const),
    );
    const today = new Date().toISOString().slice(0, 10);
    expect(drawn.at(-1)![0]).toBe(today);
    for (const [date, cost] of drawn) expect(cost, date).toBeCloseTo(sums.get(date) ?? 0, 6);
    const total = [...sums.values()].reduce((a, b) => a + b, 0);
    expect(await page.locator('#cost-summary').textContent()).toBe(`$${total.toFixed(total < 1 ? 4 : 2)} over 14 days`);
  });

  it('shows a name, command and label holding markup as text, in the header, the charts and the timeline', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 2; n++) {
      const { task_id: id } = await shell(`echo '${XSS}'`, { name: `${XSS} deploy`, labels: [XSS] });
      await client.wait(id);
      ids.push(id);
    }
    await page.goto(`${url}/tasks/${ids[1]}`);
    await page.waitForSelector('.task-head .status.completed');
    await expect.poll(() => page.locator('#history-bars rect.bar').count()).toBe(2);
    expect(await page.locator('.task-head .what').textContent()).toBe(`${XSS} deploy`);
    expect(await page.locator('.task-head .command').textContent()).toBe(`echo '${XSS}'`);
    expect(await fact('labels').locator('li').allTextContents()).toEqual([XSS]);
    expect(await page.locator('main img').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('task-page-markup.png'), fullPage: true });
    await page.goto(`${url}/`);
    const bar = page.locator(`.timeline-box rect.bar[data-task-id="${ids[1]}"] title`);
    await expect.poll(() => bar.count(), { timeout: 15_000 }).toBe(1);
    expect(await bar.textContent()).toContain(`${XSS} deploy`);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  });
});
