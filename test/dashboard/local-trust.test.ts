import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard } from '../../bull-board/server.js';
import { ensureLocalSecret, localSecretPath, readLocalSecret } from '../../src/config/local-secret.js';
import { launchBrowser, loopbackContext, logInOnce, screenshotPath } from '../helpers/browser.js';
import { BIN, ROOT, createHarness, eventually, stopProcess, type Harness } from '../helpers/harness.js';
import { connectMcpHttp } from '../helpers/mcp-client.js';

// A dashboard without a token on loopback, started by the real CLI: reads are open, writes and MCP
// want the local secret (a 0600 file in the data directory), which the CLI and the TypeScript
// client read on their own; a browser logs in once through the link printed at start. Another
// local user (nobody, through setpriv) reaches the port but not the secret.

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const LIBRARY = path.join(ROOT, 'dist/src/index.js');
const shellTask = { executor: 'local', payload: { type: 'shell_command', command: 'echo hi' }, workdir: '/tmp' };

describe('a dashboard without a token, on loopback', () => {
  let h: Harness;
  let dashboard: ChildProcess;
  let stderr = '';
  let url: string;
  let loginUrl: string;
  let secret: string;
  let secretFile: string;

  const taskCount = () => h.redis().zcard(`${h.prefix}:_index:created`);
  const post = async (route: string, headers: Record<string, string> = {}, body: unknown = shellTask) => {
    const response = await fetch(url + route, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  // The TypeScript client as another user runs it: bundled into one file that user may read (the
  // checkout may sit in a directory only its owner enters, such as a fresh `mktemp -d`).
  let nobodysClient: string;
  // The TypeScript client in a process of its own, given nothing but the dashboard's URL.
  const clientScript = (body: string, library = LIBRARY) =>
    `import { createClient } from ${JSON.stringify(library)};\n` +
    `const api = createClient({ url: process.argv[1] });\n` +
    `try { ${body} } catch (error) { console.log(JSON.stringify({ status: error.status, error: error.message })); }`;

  beforeAll(async () => {
    h = createHarness();
    await h.startWorker();
    dashboard = spawn('node', [BIN, 'dashboard', '--port', '0'], {
      env: { ...h.env, OPENCLAW_AGENT_DASHBOARD_TOKEN: '' },
      cwd: h.dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    dashboard.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    loginUrl = await eventually(
      async () => /open once: (http:\/\/127\.0\.0\.1:\d+\/login\?code=[\w-]+)\n/.exec(stderr)?.[1],
      'the dashboard to print its login link',
    );
    url = new URL(loginUrl).origin;
    secretFile = localSecretPath(h.home);
    secret = (await readLocalSecret(h.home))!;
    const shared = mkdtempSync(path.join(tmpdir(), 'oca-client-'));
    chmodSync(shared, 0o755);
    nobodysClient = path.join(shared, 'client.cjs');
    await build({
      entryPoints: [path.join(ROOT, 'dist/src/api/client.js')],
      outfile: nobodysClient,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'warning',
      external: ['*.node', 'dockerode', 'ssh2', 'typescript'],
    });
  });
  afterAll(async () => {
    if (dashboard) await stopProcess(dashboard, 'SIGINT');
    await h?.cleanup();
    if (nobodysClient) rmSync(path.dirname(nobodysClient), { recursive: true, force: true });
  });

  it('makes the local secret on first start, 0600, and prints only the path and a login link', () => {
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(stderr).toContain(`dashboard on ${url}/`);
    expect(stderr).not.toContain(secret);
  });

  it('refuses writes without the secret in one JSON line that says what to do, and changes nothing', async () => {
    const before = await taskCount();
    const writes: [string, unknown][] = [
      ['/api/tasks', shellTask],
      ['/api/tasks/0123456789/kill', {}],
      ['/api/tasks/0123456789/retry', {}],
      ['/api/executors/local/pause', {}],
      ['/api/schedules', { name: 'nightly', cron: '0 3 * * *', task: shellTask }],
    ];
    for (const [route, body] of writes) {
      const r = await post(route, {}, body);
      expect(r.status, route).toBe(401);
      const { error } = JSON.parse(r.text) as { error: string };
      expect(error).toBe(
        `writes need the local secret: use the openclaw-agent CLI or client, send "Authorization: Bearer $(cat ${secretFile})", or log in with the link the dashboard printed at start (or at /login)`,
      );
      expect(r.text).not.toContain(secret);
      expect(r.text.trim().split('\n')).toHaveLength(1);
    }
    const remove = await fetch(`${url}/api/schedules/nightly`, { method: 'DELETE' });
    expect(remove.status).toBe(401);
    const wrong = await post('/api/tasks', { authorization: `Bearer ${'0'.repeat(64)}` });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text).error).toBe(
      `the Authorization header does not hold the local secret: send \`Authorization: Bearer $(cat ${secretFile})\``,
    );
    expect(await taskCount()).toBe(before);
    expect(await h.redis().scard(`${h.prefix}:_index:schedules`)).toBe(0);
    const executors = (await (await fetch(`${url}/api/executors`)).json()) as { name: string; paused: boolean }[];
    expect(executors.find((e) => e.name === 'local')?.paused).toBe(false);
    expect(stderr).not.toContain(secret);
  });

  it('serves reads without the secret: the API, the page and Bull Board', async () => {
    expect((await fetch(`${url}/api/tasks`)).status).toBe(200);
    const page = await fetch(`${url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Log in to make changes');
    expect((await fetch(`${url}/queues/api/queues`)).status).toBe(200);
  });

  it('accepts writes with the secret as a bearer token', async () => {
    const before = await taskCount();
    const r = await post('/api/tasks', { authorization: `Bearer ${secret}` });
    expect(r.status, r.text).toBe(201);
    expect(await taskCount()).toBe(before + 1);
  });

  it('the TypeScript client, given only the URL, reads the secret and writes', async () => {
    const r = await execa(
      'node',
      [
        '--input-type=module',
        '-e',
        clientScript(
          `const { task_id } = await api.run({ cmd: 'echo from the client', executor: 'local', workdir: '/tmp' });
           const [task] = await api.wait(task_id, { timeoutMs: 30000 });
           const paused = await api.pauseExecutor('local');
           const resumed = await api.resumeExecutor('local');
           console.log(JSON.stringify({ status: task.status, paused: paused.paused, resumed: resumed.paused }));`,
        ),
        url,
      ],
      { env: h.env, extendEnv: false, cwd: h.dir },
    );
    expect(JSON.parse(r.stdout)).toEqual({ status: 'completed', paused: true, resumed: false });
  });

  it('the CLI needs no set-up beside it', async () => {
    const run = await h.cli(['run', '-e', 'local', '-f', '--', 'echo', 'from the cli']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('from the cli\n');
    const paused = await h.cli(['pause', '-e', 'local']);
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect((await h.cli(['resume', '-e', 'local'])).exitCode).toBe(0);
  });

  it('the one-time login link opens a session once, then never again', async () => {
    const first = await fetch(loginUrl, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const cookie = /oca_session=[^;]+/.exec(first.headers.get('set-cookie') ?? '')![0];
    expect(first.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect(first.headers.get('set-cookie')).toMatch(/SameSite=Strict/i);

    const page = await (await fetch(`${url}/`, { headers: { cookie, accept: 'text/html' } })).text();
    const csrf = /<meta name="oca-csrf" content="([^"]+)">/.exec(page)![1]!;
    expect(page).toContain('Log out');
    const noCsrf = await post('/api/tasks', { cookie });
    expect(noCsrf.status).toBe(403);
    expect(JSON.parse(noCsrf.text).error).toMatch(/x-csrf-token/);
    expect((await post('/api/tasks', { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect((await post('/api/tasks', { cookie, 'x-csrf-token': csrf, origin: url })).status).toBe(201);

    const again = await fetch(loginUrl, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(await again.text()).toContain('That login link was used already');
  });

  it('the login form takes the local secret, and refuses anything else', async () => {
    const login = (token: string) =>
      fetch(`${url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, next: '/schedules' }).toString(),
      });
    const wrong = await login('not-the-secret');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That is not the local secret.');
    const right = await login(secret);
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/schedules');
    expect(right.headers.get('set-cookie')).toMatch(/oca_session=/);
    const form = await (await fetch(`${url}/login`)).text();
    expect(form).toContain(secretFile);
    expect(form).not.toContain(secret);
  });

  it('refuses MCP over HTTP without the secret, and serves it with the secret', async () => {
    await expect(connectMcpHttp(url, null, 'local-trust')).rejects.toThrow(/MCP over HTTP needs the local secret/);
    const listing = await fetch(`${url}/mcp`, { headers: { accept: 'text/event-stream' } });
    expect(listing.status).toBe(401);
    const client = await connectMcpHttp(url, secret, 'local-trust');
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('run');
    } finally {
      await client.close();
    }
  });

  it('another local user reaches the port and reads, but can neither read the secret nor write', async () => {
    const before = await taskCount();
    const script = `
      const fs = require('node:fs');
      const out = {};
      try { fs.readFileSync(process.argv[2], 'utf8'); out.read = 'read'; } catch (error) { out.read = error.code; }
      const url = process.argv[1];
      out.get = (await fetch(url + '/api/tasks')).status;
      const posted = await fetch(url + '/api/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(${JSON.stringify(shellTask)}),
      });
      out.post = posted.status;
      out.error = (await posted.json()).error;
      console.log(JSON.stringify({ uid: process.getuid(), ...out }));`;
    const r = await execa('setpriv', [...NOBODY, 'node', '-e', `(async () => {${script}})()`, url, secretFile], {
      cwd: '/',
      env: { PATH: process.env.PATH },
      extendEnv: false,
    });
    const seen = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(seen).toMatchObject({ uid: 65534, read: 'EACCES', get: 200, post: 401 });
    expect(seen.error).toMatch(/^writes need the local secret/);

    // The client as that user, pointed at the owner's data directory, finds nothing it may read.
    const client = await execa(
      'setpriv',
      [
        ...NOBODY,
        'node',
        '--input-type=module',
        '-e',
        clientScript(`await api.run({ cmd: 'id', executor: 'local' }); console.log('{"wrote":true}');`, nobodysClient),
        url,
      ],
      { cwd: '/', env: { PATH: process.env.PATH, OPENCLAW_AGENT_HOME: h.home }, extendEnv: false },
    );
    expect(JSON.parse(client.stdout)).toMatchObject({ error: expect.stringMatching(/EACCES/) });
    const elsewhere = await execa(
      'setpriv',
      [
        ...NOBODY,
        'node',
        '--input-type=module',
        '-e',
        clientScript(`await api.run({ cmd: 'id', executor: 'local' }); console.log('{"wrote":true}');`, nobodysClient),
        url,
      ],
      {
        cwd: '/',
        env: { PATH: process.env.PATH, OPENCLAW_AGENT_HOME: '/tmp/oca-nobody-nothing-here' },
        extendEnv: false,
      },
    );
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({ status: 401, error: expect.stringMatching(/local secret/) });
    expect(await taskCount()).toBe(before);
  });
});

describe('the local secret file', () => {
  let h: Harness;
  beforeAll(() => {
    h = createHarness();
  });
  afterAll(() => h.cleanup());

  it('is made 0600 in a new 0700 data directory, one secret when processes start at once', async () => {
    const home = path.join(h.dir, 'fresh', 'data');
    const module = path.join(ROOT, 'dist/src/config/local-secret.js');
    const script = `import { ensureLocalSecret } from ${JSON.stringify(module)};
      import { createHash } from 'node:crypto';
      const secret = await ensureLocalSecret(process.argv[1]);
      console.log(createHash('sha256').update(secret).digest('hex'));`;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => execa('node', ['--input-type=module', '-e', script, home], { cwd: h.dir })),
    );
    const digests = new Set(runs.map((r) => r.stdout.trim()));
    expect(digests.size).toBe(1);
    const file = localSecretPath(home);
    expect(createHash('sha256').update(readFileSync(file, 'utf8').trim()).digest('hex')).toBe([...digests][0]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(path.dirname(file)).isDirectory()).toBe(true);
  });

  it('cannot be made where no directory can be, in one line that says what to do', async () => {
    const blocker = path.join(h.dir, 'a-file');
    writeFileSync(blocker, '');
    const home = path.join(blocker, 'data');
    await expect(ensureLocalSecret(home)).rejects.toThrow(
      `cannot make the local secret ${localSecretPath(home)} (ENOTDIR): set OPENCLAW_AGENT_HOME to a directory of yours, or give the dashboard a token`,
    );
  });

  it('is refused when other users may read it, without showing it', async () => {
    const home = path.join(h.dir, 'leaky');
    const secret = await ensureLocalSecret(home);
    chmodSync(localSecretPath(home), 0o644);
    const error = await readLocalSecret(home).catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe(
      `the local secret ${localSecretPath(home)} may be read by other users (mode 644): delete it, and a new one is made at the next dashboard start`,
    );
    expect((error as Error).message).not.toContain(secret);
  });
});

describe('a browser on a dashboard without a token', () => {
  let h: Harness;
  let browser: Browser;
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    h = createHarness();
    await h.startWorker();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await close();
    await h?.cleanup();
  });

  it('shows the page before a login, sends a write to the login page, and kills after the one-time link', async () => {
    const dashboard = await startDashboard({ config: h.config(), port: 0, home: h.home });
    close = () => dashboard.close();
    const secret = (await readLocalSecret(h.home))!;
    const created = (await (
      await fetch(`${dashboard.url}/api/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ ...shellTask, payload: { type: 'shell_command', command: 'echo up; sleep 30' } }),
      })
    ).json()) as { task_id: string };
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());

    await page.goto(`${dashboard.url}/tasks/${created.task_id}`);
    await page.waitForSelector('#kill');
    expect(await page.locator('header a.login').textContent()).toBe('Log in to make changes');
    await page.click('#kill');
    await page.waitForURL(/\/login\?next=/);
    expect(await page.locator('main').textContent()).toContain('Reading needs no login; changes do.');
    await page.screenshot({ path: screenshotPath('local-trust-login.png') });
    const status = (await (await fetch(`${dashboard.url}/api/tasks/${created.task_id}`)).json()) as { status: string };
    expect(status.status).toBe('running');

    await logInOnce(page, dashboard.loginUrl!);
    await page.goto(`${dashboard.url}/tasks/${created.task_id}`);
    await page.click('#kill');
    await page.waitForSelector('.task-head .status.killed', { timeout: 15_000 });
    await page.goto(`${dashboard.url}/`);
    const chip = page.locator('#executors [data-executor="local"]');
    const toggle = chip.locator('button[role=switch]');
    await toggle.click();
    await expect.poll(() => chip.locator('.state').textContent()).toBe('paused');
    await toggle.click();
    await expect.poll(() => chip.locator('.state').textContent()).toBe('active');
    await context.close();
  });
});
