import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
  chmodSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, stopProcess } from './harness.js';

const run = promisify(execFile);
const BUSYBOX = '/bin/busybox';
/** The test image: busybox-static with every applet linked, a passwd file and the fake claude. */
export const TEST_IMAGE = 'localhost/oca-test:busybox';
/** Where the image keeps the POSIX-sh fake claude (the Node one cannot run there). */
export const CONTAINER_CLAUDE = '/usr/local/bin/claude';
/** Changes to the recipe or to the fake claude make a new image. */
const RECIPE_VERSION = '1';

/**
 * podman's Docker-compatible API for one test file: a private socket, a project-local
 * containers.conf (runc, since crun fails on this VM's hybrid cgroups; ulimits the VM allows),
 * and the busybox test image (built once, kept in podman's store).
 */
export interface PodmanService {
  /** Path of the API socket. */
  socket: string;
  /** `unix://…`, as DOCKER_HOST or an executor's `socket` takes it. */
  url: string;
  image: string;
  /** Runs the podman CLI with the same containers.conf. */
  podman(args: string[]): Promise<string>;
  /** Stops the API service (containers keep running, as with a real engine restart). */
  stop(): Promise<void>;
}

/** Why the container suites cannot run here, or undefined when they can. CI must have podman: there it is a failure, not a skip. */
export function podmanSkipReason(): string | undefined {
  const missing = ['podman', 'runc'].filter(
    (tool) => !['/usr/bin', '/usr/sbin', '/usr/local/bin'].some((dir) => existsSync(path.join(dir, tool))),
  );
  if (!existsSync(BUSYBOX)) missing.push('busybox-static');
  if (missing.length === 0) return undefined;
  const reason = `the container executor tests need a Docker-API engine: install ${missing.join(', ')} (apt-get install podman runc busybox-static catatonit)`;
  if (process.env.CI) throw new Error(`${reason} — CI must install them`);
  return reason;
}

export async function startPodman(): Promise<PodmanService> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-podman-'));
  const conf = path.join(dir, 'containers.conf');
  writeFileSync(
    conf,
    '[engine]\nruntime = "runc"\n\n[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n',
  );
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const podman = async (args: string[]) => (await run('podman', args, { env, maxBuffer: 16 << 20 })).stdout;
  let service: ChildProcess | undefined;
  try {
    await buildTestImage(podman, dir);
    const socket = path.join(dir, 'podman.sock');
    // Its own directory as cwd: runc leaves an `oom` event file in the cwd of the engine.
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      env,
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    service.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitForPing(socket, service, () => stderr);
    const started = service;
    return {
      socket,
      url: `unix://${socket}`,
      image: TEST_IMAGE,
      podman,
      async stop() {
        await stopProcess(started);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (service) await stopProcess(service);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

// A rootfs of /bin/busybox and its applets, packed with tar and imported; skipped when the image
// with this recipe's hash is there already.
async function buildTestImage(podman: (args: string[]) => Promise<string>, dir: string): Promise<void> {
  const claude = readFileSync(path.join(FIXTURES, 'fake-claude.sh'));
  const hash = createHash('sha256')
    .update(RECIPE_VERSION)
    .update(claude)
    .update(readFileSync(BUSYBOX))
    .digest('hex')
    .slice(0, 16);
  const existing = await podman(['image', 'inspect', '--format', '{{index .Labels "oca.recipe"}}', TEST_IMAGE]).catch(
    () => '',
  );
  if (existing.trim() === hash) return;
  const root = path.join(dir, 'rootfs');
  for (const sub of ['bin', 'etc', 'root', 'tmp', 'usr/local/bin', 'work'])
    mkdirSync(path.join(root, sub), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
  const applets = (await run(BUSYBOX, ['--list'])).stdout.split('\n').filter((name) => name && name !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', path.join(root, 'bin', applet));
  writeFileSync(
    path.join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(path.join(root, CONTAINER_CLAUDE), claude, { mode: 0o755 });
  const tar = path.join(dir, 'rootfs.tar');
  await run('tar', ['-C', root, '-cf', tar, '.']);
  await podman([
    'import',
    '--change',
    `LABEL oca.recipe=${hash}`,
    '--change',
    'ENV PATH=/usr/local/bin:/bin',
    tar,
    TEST_IMAGE,
  ]);
  rmSync(root, { recursive: true, force: true });
  rmSync(tar, { force: true });
}

async function waitForPing(socket: string, service: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (service.exitCode !== null) throw new Error(`podman system service exited (${service.exitCode}): ${stderr()}`);
    if (await ping(socket)) return;
    if (Date.now() > deadline) throw new Error(`podman system service did not answer on ${socket}: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** True when an Engine API answers /_ping with OK on the socket. */
export function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'OK'));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
