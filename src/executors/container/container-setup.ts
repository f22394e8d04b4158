// What is settled before a task's container starts: its image pulled, `~` resolved in it, and its
// working directory and command found.
import path from 'node:path';
import type Dockerode from 'dockerode';
import type { ExecutorConfig } from '../../config/config.js';
import type { TaskCommand } from '../task-command.js';
import { removeContainer } from './container-retention.js';
import { DEFAULT_PATH, envMap, EXECUTOR_LABEL, homeFromPasswd } from './container-spec.js';
import { engineMessage, isNotFound, pathExists, readContainerFile, statusOf, type Engine } from './engine-client.js';

/** A failure that ends the task before anything ran (missing image, working directory, command). */
export class SetupError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null = null,
    /** Text for the task's stderr, as `docker run` prints the engine's refusal there. */
    readonly stderr?: string,
  ) {
    super(message);
    this.name = 'SetupError';
  }
}

/**
 * What a task's container needs settled before it starts, remembering between tasks what is
 * costly to find out: the image (pulled as `pull` says, once for tasks that start together), what
 * `~` means in it (its /etc/passwd), and where a command is (one request per PATH entry).
 */
export class ContainerSetup {
  private readonly pulls = new Map<string, Promise<Dockerode.ImageInspectInfo>>();
  private readonly homes = new Map<string, Promise<string>>();
  /** Commands found: image id, PATH and argv[0]. */
  private readonly commands = new Set<string>();

  constructor(
    private readonly engine: () => Engine,
    /** The engine's address, as messages name it. */
    private readonly where: string,
    private readonly config: ExecutorConfig,
  ) {}

  /** The image, pulled first when the engine lacks it and `pull` is `missing`. */
  async ensureImage(image: string, pull: 'never' | 'missing'): Promise<Dockerode.ImageInspectInfo> {
    try {
      return await this.engine().api.getImage(image).inspect();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (pull === 'never') {
      throw new SetupError(
        `image ${image} is not on the engine at ${this.where}, and executor "${this.config.name}" has \`pull: never\` — pull it there first, or set \`pull: missing\``,
      );
    }
    let pulling = this.pulls.get(image);
    if (!pulling) {
      pulling = this.pull(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pulling);
    }
    return pulling;
  }

  private async pull(image: string): Promise<Dockerode.ImageInspectInfo> {
    const { api } = this.engine();
    let events: { error?: string; errorDetail?: { message?: string } }[];
    try {
      const stream = await api.pull(image);
      events = await new Promise((resolve, reject) => {
        api.modem.followProgress(stream, (error, output: typeof events) => (error ? reject(error) : resolve(output)));
      });
    } catch (error) {
      if (statusOf(error) === undefined) throw error;
      throw new SetupError(`could not pull image ${image}: ${engineMessage(error)}`);
    }
    // The engine reports a failed pull inside the progress stream, with HTTP 200.
    const failure = events.find((event) => event.error || event.errorDetail);
    if (failure)
      throw new SetupError(
        `could not pull image ${image}: ${firstLine(failure.errorDetail?.message ?? failure.error ?? 'unknown error')}`,
      );
    try {
      return await api.getImage(image).inspect();
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new SetupError(`could not pull image ${image}: the engine reported success but does not have it`);
    }
  }

  /**
   * `~` as the engine resolves HOME: the task's or the image's HOME, else the user's /etc/passwd
   * entry in the image (read from a container that is created, read and removed, never started).
   */
  homeOf(image: Dockerode.ImageInspectInfo, command: TaskCommand): Promise<string> {
    const explicit = command.env.HOME ?? envMap(image.Config.Env).get('HOME');
    if (explicit) return Promise.resolve(explicit);
    const user = this.config.user ?? image.Config.User ?? '';
    return this.passwdHome(image.Id, user, () => this.readHome(image.Id, user));
  }

  /**
   * `~` in a container that exists (created, or ended): its HOME, else its user's /etc/passwd
   * entry, read from the container itself.
   */
  homeIn(info: Dockerode.ContainerInspectInfo): Promise<string> {
    const explicit = envMap(info.Config.Env).get('HOME');
    if (explicit) return Promise.resolve(explicit);
    const user = info.Config.User ?? '';
    return this.passwdHome(info.Image, user, () => readHomeFrom(this.engine(), info.Id, user));
  }

  // The home of `user` in the image's /etc/passwd, read once per image and user.
  private passwdHome(imageId: string, user: string, read: () => Promise<string>): Promise<string> {
    const key = `${imageId}\0${user}`;
    let home = this.homes.get(key);
    if (!home) {
      home = read();
      home.catch(() => this.homes.delete(key));
      this.homes.set(key, home);
    }
    return home;
  }

  private async readHome(imageId: string, user: string): Promise<string> {
    const engine = this.engine();
    const probe = await engine.api.createContainer({
      Image: imageId,
      Entrypoint: [''],
      Cmd: ['/openclaw-probe'],
      Labels: { [EXECUTOR_LABEL]: this.config.name, 'openclaw.probe': 'home' },
    });
    try {
      return await readHomeFrom(engine, probe.id, user);
    } finally {
      await removeContainer(engine, probe.id).catch(() => false);
    }
  }

  /**
   * Fails the task, with nothing run, when its working directory or command is missing in the
   * created container: engines would create the directory (Docker where it is not on a volume,
   * podman's compatible API everywhere) and report a missing command through the init process
   * as exit 1.
   */
  async checkBeforeStart(info: Dockerode.ContainerInspectInfo, command: TaskCommand): Promise<void> {
    const workdir = info.Config.WorkingDir;
    if (command.workdir !== undefined && workdir && !(await pathExists(this.engine(), info.Id, workdir))) {
      throw new SetupError(
        `working directory ${workdir} does not exist in the container of executor "${this.config.name}" (image ${info.Config.Image})`,
      );
    }
    const argv0 = info.Config.Cmd?.[0];
    if (argv0 && !(await this.commandExists(info, argv0))) {
      throw new SetupError(
        `command not found in the container: ${argv0} (image ${info.Config.Image})`,
        127,
        `${argv0}: command not found in image ${info.Config.Image}\n`,
      );
    }
  }

  // Where the engine would look for argv[0]: the path itself, or each PATH entry.
  private async commandExists(info: Dockerode.ContainerInspectInfo, argv0: string): Promise<boolean> {
    const searchPath = envMap(info.Config.Env).get('PATH') ?? DEFAULT_PATH;
    const key = `${info.Image}\0${searchPath}\0${argv0}`;
    if (this.commands.has(key)) return true;
    const candidates = argv0.includes('/')
      ? [path.posix.resolve(info.Config.WorkingDir || '/', argv0)]
      : searchPath
          .split(':')
          .filter((dir) => dir.startsWith('/'))
          .map((dir) => path.posix.join(dir, argv0));
    const found = await Promise.all(candidates.map((candidate) => pathExists(this.engine(), info.Id, candidate)));
    if (!found.includes(true)) return false;
    this.commands.add(key);
    return true;
  }
}

// The home of `user` in the container's /etc/passwd; `/` when it has no entry.
async function readHomeFrom(engine: Engine, id: string, user: string): Promise<string> {
  const passwd = await readContainerFile(engine, id, '/etc/passwd');
  return (passwd && homeFromPasswd(passwd.toString('utf8'), user)) || '/';
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
