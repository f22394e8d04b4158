import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testPort } from './ports.js';
import { isProcessAlive } from '../../src/executors/process-identity.js';
import { ensureNpmTool, exists, installedVersion, testToolsDir } from './test-tools.js';

// A real OpenClaw gateway for the tests: the npm package `openclaw` run by Node 24 (the npm
// package `node@24` carries the binary), both installed on first use into a cache directory
// outside the project's lockfile, started offline on loopback with a temporary HOME, its hooks
// on and its model a provider of ours (a fake Messages API the test runs).

/** The versions the tests were written against. */
export const OPENCLAW_VERSION = '2026.9.6';
const NODE24_VERSION = '24.21.0';

const tools = () => {
  const root = testToolsDir();
  return {
    root,
    node24: path.join(root, 'node24', 'node_modules', 'node', 'bin', 'node'),
    openclaw: path.join(root, 'openclaw', 'node_modules', 'openclaw'),
  };
};

/** Installs Node 24 and openclaw into the tools directory unless they are there (about a minute the first time). */
export async function ensureOpenClaw(): Promise<{ node24: string; entry: string }> {
  const t = tools();
  const nodeReady = () =>
    installedVersion(path.join(t.root, 'node24', 'node_modules', 'node', 'package.json')) === NODE24_VERSION &&
    exists(t.node24);
  await ensureNpmTool('node24', `node@${NODE24_VERSION}`, nodeReady);
  // Node 24 runs openclaw's install scripts (first on PATH).
  await ensureNpmTool(
    'openclaw',
    `openclaw@${OPENCLAW_VERSION}`,
    () => installedVersion(path.join(t.openclaw, 'package.json')) === OPENCLAW_VERSION,
    path.dirname(t.node24),
  );
  return { node24: t.node24, entry: path.join(t.openclaw, 'openclaw.mjs') };
}

export interface GatewayOptions {
  /** The port to listen on. @default a free one */
  port?: number;
  /** The fake Messages API's base URL (the gateway appends /v1/messages). */
  modelUrl: string;
  /** `hooks.allowRequestSessionKey`. @default false */
  allowRequestSessionKey?: boolean;
  /** `mcp.servers` of the gateway's agent. @default none */
  mcpServers?: Record<string, { command: string; args: string[]; env?: Record<string, string>; cwd?: string }>;
}

/**
 * One gateway: `start()` writes its config into a temporary HOME and waits until `/readyz`
 * answers; `stop()` ends its whole process tree (some of its helpers run in process groups of
 * their own); `start()` again comes back on the same port with the same state.
 */
export class OpenClawGateway {
  readonly hooksToken = `hooks-${randomBytes(18).toString('hex')}`;
  readonly root = mkdtempSync(path.join(tmpdir(), 'oca-openclaw-'));
  readonly home = path.join(this.root, 'home');
  port = 0;
  private child: ChildProcess | undefined;
  private exited = false;

  constructor(private readonly options: GatewayOptions) {
    this.port = options.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it (the first time on a free port) and resolves when it is ready, usually in 20–35 s. */
  async start(): Promise<void> {
    const { node24, entry } = await ensureOpenClaw();
    // It binds ports derived from its own (port + 2, + 10, + 11 to + 110): those are held too.
    if (this.port === 0) this.port = await testPort(111);
    this.writeConfig();
    const env: NodeJS.ProcessEnv = {};
    // Hermetic: nothing of ours or of npm's reaches it.
    for (const [key, value] of Object.entries(process.env))
      if (!/^(OPENCLAW_|NODE_|npm_|REDIS_URL$)/.test(key)) env[key] = value;
    Object.assign(env, {
      HOME: this.home,
      TMPDIR: path.join(this.root, 'tmp'),
      PATH: `${path.dirname(node24)}:${process.env.PATH}`,
      OPENCLAW_OFFLINE: '1',
      OPENCLAW_DISABLE_BONJOUR: '1',
      OPENCLAW_NO_AUTO_UPDATE: '1',
      OPENCLAW_SKIP_GMAIL_WATCHER: '1',
      NO_COLOR: '1',
    });
    mkdirSync(env.TMPDIR!, { recursive: true });
    const log = openSync(path.join(this.root, 'gateway.log'), 'a');
    this.exited = false;
    this.child = spawn(node24, [entry, 'gateway', 'run', '--port', String(this.port)], {
      cwd: this.root,
      env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.child.once('exit', () => (this.exited = true));
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (this.exited)
        throw new Error(`the gateway exited before it was ready; see ${path.join(this.root, 'gateway.log')}`);
      const ready = await fetch(`${this.url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error('the gateway was not ready within 3 minutes');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Stops every process it started: TERM to each process group of its tree, KILL after 20 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const tree = processTree(child.pid);
    const groups = new Set([child.pid, ...tree.map((p) => p.pgid)]);
    const signal = (name: NodeJS.Signals) => {
      for (const group of groups) {
        try {
          process.kill(-group, name);
        } catch {
          // gone
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && tree.some((p) => isProcessAlive(p.pid)))
      await new Promise((resolve) => setTimeout(resolve, 100));
    signal('SIGKILL');
    this.child = undefined;
  }

  /** Stops it and removes its files, also those it leaves in /tmp whatever TMPDIR says. */
  async remove(): Promise<void> {
    await this.stop();
    removeStateLocks(this.home);
    rmSync(this.root, { recursive: true, force: true });
    try {
      rmdirSync('/tmp/openclaw');
    } catch {
      // not empty (another gateway's), or not there
    }
  }

  private writeConfig(): void {
    const config = {
      gateway: { mode: 'local', bind: 'loopback', port: this.port },
      hooks: {
        enabled: true,
        token: this.hooksToken,
        path: '/hooks',
        allowRequestSessionKey: this.options.allowRequestSessionKey ?? false,
      },
      discovery: { mdns: { mode: 'off' } },
      update: { checkOnStart: false },
      logging: { file: path.join(this.root, 'openclaw.log') },
      models: {
        catalogRefresh: { enabled: false },
        providers: {
          fake: {
            baseUrl: this.options.modelUrl,
            apiKey: 'fake-model-key',
            api: 'anthropic-messages',
            models: [
              {
                id: 'claude-fake',
                name: 'Claude Fake',
                reasoning: false,
                input: ['text'],
                cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                contextWindow: 200_000,
                maxTokens: 8192,
              },
            ],
          },
        },
      },
      agents: {
        defaults: { model: { primary: 'fake/claude-fake' }, skipBootstrap: true, heartbeat: { every: '24h' } },
      },
      ...(this.options.mcpServers ? { mcp: { servers: this.options.mcpServers } } : {}),
    };
    mkdirSync(path.join(this.home, '.openclaw'), { recursive: true });
    writeFileSync(path.join(this.home, '.openclaw', 'openclaw.json'), JSON.stringify(config, null, 2));
  }
}

interface ProcessEntry {
  pid: number;
  pgid: number;
}

// The process and its descendants, from /proc.
function processTree(root: number): ProcessEntry[] {
  const all: (ProcessEntry & { ppid: number })[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]) });
    } catch {
      // ended meanwhile
    }
  }
  const members = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!members.has(p.pid) && members.has(p.ppid)) {
        members.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => members.has(p.pid));
}

// OpenClaw keeps lock files in /tmp/openclaw-state-locks-<uid>/, named after the first 8 hex of
// the sha256 of each state database's real path: remove this gateway's only.
function removeStateLocks(home: string): void {
  const databases: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.sqlite')) databases.push(full);
    }
  };
  try {
    walk(home);
  } catch {
    return;
  }
  const hashes = new Set(
    databases.map((file) => createHash('sha256').update(realpathSync(file)).digest('hex').slice(0, 8)),
  );
  const dir = `/tmp/openclaw-state-locks-${process.getuid?.() ?? 0}`;
  try {
    for (const name of readdirSync(dir))
      if (hashes.has(name.split('.').at(-3) ?? '')) rmSync(path.join(dir, name), { force: true });
    rmdirSync(dir);
  } catch {
    // others' locks remain, or none were made
  }
}
