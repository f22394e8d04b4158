// Requests to the container engine's API (through dockerode): connect, attach, logs, files, errors.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import type { Duplex, Readable, Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { DialOptions } from 'docker-modem';
import type { EngineAddress } from './engine-address.js';

/** A Docker Engine API client (dockerode), and the HTTP agent whose sockets it reuses. */
export interface Engine {
  api: Dockerode;
  close(): void;
}

let dockerode: typeof Dockerode | undefined;

/**
 * A client for the engine at `address`. dockerode is CommonJS and takes ~130 ms to load (it
 * brings gRPC for BuildKit sessions), so it is required on first use, not at import time: every
 * CLI command loads this module, few talk to a container engine.
 */
export function connectEngine(address: EngineAddress): Engine {
  dockerode ??= createRequire(import.meta.url)('dockerode') as typeof Dockerode;
  // An own agent, so that close() frees its kept-alive sockets (the global one would keep them).
  const agent =
    address.protocol === 'https'
      ? new HttpsAgent({ keepAlive: true })
      : address.protocol === 'ssh'
        ? undefined
        : new HttpAgent({ keepAlive: true });
  // Keys left undefined on purpose: docker-modem would fill them in from DOCKER_HOST otherwise.
  const options = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    ...address,
    protocol: address.protocol ?? 'http',
    agent,
  };
  return { api: new dockerode(options), close: () => agent?.destroy() };
}

/** The HTTP status of an Engine API error, if it is one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The engine does not have it. Podman answers a look at a container it is removing right then with
 * 500, not 404: "… does not exist in database: no such container", "container has already been
 * removed" (podman#17341).
 */
export function isNotFound(error: unknown): boolean {
  const status = statusOf(error);
  return status === 404 || (status === 500 && REMOVED_CONTAINER.test(engineMessage(error)));
}

const REMOVED_CONTAINER = /no such container|container has already been removed/i;

/** Docker answers 409 to a name in use; podman 4 answers 500 and says so. */
export function isNameConflict(error: unknown): boolean {
  return statusOf(error) === 409 || /already in use/i.test(engineMessage(error));
}

/** The engine's own words for an error, on one line (without docker-modem's "(HTTP code …)" wrapping). */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | undefined)?.json;
  if (json && typeof json.message === 'string' && json.message) return json.message.trim().split('\n')[0]!;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      error.message
        .replace(/^\(HTTP code \d+\) [^-]*- /, '')
        .trim()
        .split('\n')[0] ?? '';
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}

/** docker-modem's request, as a promise. */
export function dial<T>(engine: Engine, options: DialOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    engine.api.modem.dial(options, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/**
 * The container's stdout and stderr, live, as one multiplexed stream; with `stdin` also its
 * input (write the prompt, then end). The request has an empty body of declared length: podman
 * passes any body bytes on to the container's stdin, docker-modem's JSON options and the
 * terminator of a chunked body included.
 */
export async function attachContainer(
  engine: Engine,
  id: string,
  stdin: boolean,
): Promise<{ output: Readable; input: Writable | undefined }> {
  const stream = await dial<Readable>(engine, {
    path: `/containers/${id}/attach?`,
    method: 'POST',
    isStream: true,
    hijack: stdin,
    statusCodes: { 101: true, 200: true, 404: 'no such container', 500: 'server error' },
    options: { stream: true, stdin, stdout: true, stderr: true },
    file: Buffer.alloc(0),
  });
  // Until its reader iterates it (after the container's start), an error of the stream (a reset
  // connection) would have no listener and end the worker; the iteration still throws it.
  stream.on('error', () => {});
  // Hijacked, the connection is a socket: the same stream carries the input.
  return { output: stream, input: stdin ? (stream as Duplex) : undefined };
}

/** The container's log so far (not followed), multiplexed, each frame prefixed with its timestamp. */
export function readContainerLog(engine: Engine, id: string, since: number): Promise<Readable> {
  return dial(engine, {
    path: `/containers/${id}/logs?`,
    method: 'GET',
    isStream: true,
    statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
    options: { stdout: true, stderr: true, timestamps: true, follow: false, since },
  });
}

/** Whether `path` exists in the (created, maybe not started) container's filesystem, volumes included. */
export async function pathExists(engine: Engine, id: string, path: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await dial(engine, {
      path: `/containers/${id}/archive?`,
      method: 'HEAD',
      statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such path', 500: 'server error' },
      options: { path },
      abortSignal: signal,
    });
    return true;
  } catch (error) {
    // Only the archive endpoint's own 404: a container gone meanwhile is not a missing path.
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

/** A tar archive of `path` (a directory with all below it) in the container, which may have ended, as a stream. */
export function readArchive(engine: Engine, id: string, path: string, signal?: AbortSignal): Promise<Readable> {
  return dial<Readable>(engine, {
    path: `/containers/${id}/archive?`,
    method: 'GET',
    isStream: true,
    statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such path', 500: 'server error' },
    options: { path },
    abortSignal: signal,
  });
}

/**
 * Extracts a tar archive into the existing directory `path` of the (created) container. What it
 * extracts belongs to the container's user (`copyUIDGID`), as if that user had written it.
 */
export async function writeArchive(
  engine: Engine,
  id: string,
  path: string,
  tar: Buffer | Readable,
  signal?: AbortSignal,
): Promise<void> {
  await dial(engine, {
    path: `/containers/${id}/archive?`,
    method: 'PUT',
    statusCodes: {
      200: true,
      400: 'bad parameter',
      403: 'permission denied',
      404: 'no such path',
      500: 'server error',
    },
    options: { path, copyUIDGID: true },
    file: tar,
    abortSignal: signal,
  });
}

/** A small regular file from the container's filesystem, or undefined when it is missing or not a file. */
export async function readContainerFile(engine: Engine, id: string, path: string): Promise<Buffer | undefined> {
  let stream: Readable;
  try {
    stream = await readArchive(engine, id, path);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 1 << 20) {
      stream.destroy();
      return undefined;
    }
  }
  return firstTarEntry(Buffer.concat(parts));
}

// The content of a tar archive's first entry when it is a regular file (ustar: 512-byte header,
// size in octal at offset 124, type flag at 156).
function firstTarEntry(tar: Buffer): Buffer | undefined {
  if (tar.length < 512) return undefined;
  const type = tar[156];
  if (type !== 0x30 && type !== 0) return undefined;
  const size = Number.parseInt(tar.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
  if (!Number.isFinite(size) || 512 + size > tar.length) return undefined;
  return tar.subarray(512, 512 + size);
}
