// Where a container executor's engine listens: its `socket`, DOCKER_HOST or the runtime's socket.
import { UserFacingError } from '../../errors.js';

/** How to reach a Docker Engine API: docker-modem's connection options. */
export interface EngineAddress {
  socketPath?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https' | 'ssh';
  username?: string;
}

/**
 * Parses a `socket` setting or DOCKER_HOST: a socket path (`/run/podman/podman.sock`), or a URL
 * with `unix://`, `tcp://` / `http://` (port 2375 unless given), `https://` (2376) or `ssh://`.
 * Returns undefined for anything else.
 */
export function parseEngineAddress(text: string): EngineAddress | undefined {
  if (text.startsWith('/')) return { socketPath: text };
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    return socketPath.startsWith('/') ? { socketPath } : undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (!url.hostname) return undefined;
  const port = url.port ? Number(url.port) : undefined;
  switch (url.protocol) {
    case 'tcp:':
    case 'http:':
      return { host: url.hostname, port: port ?? 2375, protocol: 'http' };
    case 'https:':
      return { host: url.hostname, port: port ?? 2376, protocol: 'https' };
    case 'ssh:':
      return { host: url.hostname, port: port ?? 22, protocol: 'ssh', username: url.username || undefined };
    default:
      return undefined;
  }
}

/**
 * The engine an executor talks to: its `socket`, else DOCKER_HOST, else the runtime's default
 * socket (`/var/run/docker.sock`; for podman `/run/podman/podman.sock` as root, else
 * `$XDG_RUNTIME_DIR/podman/podman.sock`). `where` names it in messages.
 */
export function resolveEngineAddress(
  config: { socket?: string; runtime: 'docker' | 'podman' },
  env: NodeJS.ProcessEnv = process.env,
  uid: number = process.getuid?.() ?? 0,
): { address: EngineAddress; where: string } {
  const chosen = config.socket ?? (env.DOCKER_HOST || undefined);
  if (chosen) {
    const address = parseEngineAddress(chosen);
    // The config was validated; only a malformed DOCKER_HOST ends up here.
    if (!address)
      throw new UserFacingError(
        'EXECUTOR_FAILED',
        `DOCKER_HOST=${chosen} is not a socket path or a unix://, tcp://, https:// or ssh:// URL`,
      );
    return { address, where: chosen };
  }
  const socketPath =
    config.runtime === 'docker'
      ? '/var/run/docker.sock'
      : uid === 0
        ? '/run/podman/podman.sock'
        : `${env.XDG_RUNTIME_DIR || `/run/user/${uid}`}/podman/podman.sock`;
  return { address: { socketPath }, where: socketPath };
}
