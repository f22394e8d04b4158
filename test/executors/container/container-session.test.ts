// A Claude run that resumes a session in a new container finds the session's transcript there:
// carried from the earlier container that holds it (the task's earlier run, or the task it
// continues), as the real CLI needs it. The image's POSIX-sh fake claude keeps transcripts where
// the CLI does and fails a resume without one as the CLI does.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beginAttempt,
  ContainerExecutor,
  TaskKeys,
  parseConfigText,
  type ClaudeCodePayload,
  type Config,
  type ExecutionResult,
  type ExecutorConfig,
} from '../../../src/index.js';
import { projectDirName } from '../../../src/claude/session-files.js';
import { removeTaskContainers } from '../../../src/executors/container/container-retention.js';
import { deleteKeys } from '../../helpers/harness.js';
import {
  CONTAINER_CLAUDE,
  podmanSkipReason,
  startPodman,
  TEST_IMAGE,
  type PodmanService,
} from '../../helpers/podman.js';
import { collectOutput, executionRunner } from '../executor-conformance.js';

const skipReason = podmanSkipReason();

if (skipReason) {
  describe.skip(`Claude sessions in containers (${skipReason})`, () => {
    it('runs against a Docker-API engine', () => {});
  });
} else {
  describe('Claude sessions in containers', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oca-session-'));
    const run = randomUUID().slice(0, 6);
    const keys = new TaskKeys(`oca-test-${randomUUID().slice(0, 8)}`);
    const defaults: Config['defaults'] = parseConfigText('executors: []', 'test').defaults;
    const executors: { executor: ContainerExecutor; config: ExecutorConfig }[] = [];
    const volumes: string[] = [];
    let engine: PodmanService;
    let docker: Docker;
    let redis: Redis;

    beforeAll(async () => {
      engine = await startPodman();
      docker = new Docker({ socketPath: engine.socket });
      redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    });

    afterAll(async () => {
      for (const { executor, config } of executors) {
        executor.close();
        const listed = await docker.listContainers({
          all: true,
          filters: { label: [`openclaw.executor=${config.name}`] },
        });
        for (const c of listed)
          await docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => {});
      }
      for (const volume of volumes)
        await docker
          .getVolume(volume)
          .remove()
          .catch(() => {});
      await deleteKeys(redis, `${keys.prefix}:*`);
      redis.disconnect();
      await engine?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    // A container executor on the test engine running the image's fake claude; `dir` is mounted.
    function makeExecutor(name: string, overrides: Record<string, unknown> = {}) {
      const executor = {
        name: `oca-ses-${run}-${name}`,
        type: 'container',
        image: TEST_IMAGE,
        runtime: 'podman',
        socket: engine.url,
        pull: 'never',
        claude_path: CONTAINER_CLAUDE,
        volumes: [`${dir}:${dir}`],
        ...overrides,
      };
      const config = parseConfigText(JSON.stringify({ executors: [executor] }), 'test').executors[0]!;
      const made = { executor: new ContainerExecutor(config), config };
      executors.push(made);
      return made;
    }

    function execute(
      { executor, config }: { executor: ContainerExecutor; config: ExecutorConfig },
      payload: ClaudeCodePayload,
      options: { taskId: string; attempt?: number },
    ): Promise<ExecutionResult> {
      return executionRunner(redis, keys, executor, config, defaults).execute(payload, options);
    }

    const claude = (prompt: string, extra: Partial<ClaudeCodePayload> = {}): ClaudeCodePayload => ({
      type: 'claude_code',
      prompt,
      workspace: dir,
      ...extra,
    });

    // The session id of the task's run, from its init line.
    async function sessionOf(taskId: string): Promise<string> {
      const init = JSON.parse((await collectOutput(redis, keys, taskId)).stdout.split('\n')[0]!) as {
        session_id: string;
      };
      return init.session_id;
    }

    it("resumes the session of the task's first run in its second run's new container", async () => {
      const target = makeExecutor('again');
      const taskId = randomUUID();
      expect(await execute(target, claude('first prompt'), { taskId })).toMatchObject({ outcome: 'completed' });
      const session = await sessionOf(taskId);

      // A usage-limit wait's run: a new run of the task, resuming its session.
      await beginAttempt(redis, keys, taskId, 2, 'resuming after the usage limit');
      const resumed = await execute(target, claude('go on', { resumeSessionId: session }), { taskId, attempt: 2 });
      expect(resumed).toEqual({ outcome: 'completed', exitCode: 0, signal: null, endedAt: expect.any(Number) });
      const { stdout, system } = await collectOutput(redis, keys, taskId);
      expect(stdout).toContain(`resuming ${session} after 1 prompts`);
      expect(system).toBe('resuming after the usage limit\n');
    });

    it("resumes an ended task's session in a task that continues it, and that one's in the next", async () => {
      const target = makeExecutor('continue');
      const first = randomUUID();
      expect(await execute(target, claude('first prompt'), { taskId: first })).toMatchObject({ outcome: 'completed' });
      const session = await sessionOf(first);

      const second = randomUUID();
      const continuing = claude('and now the tests', { resumeSessionId: session, continues: first });
      expect(await execute(target, continuing, { taskId: second })).toEqual({
        outcome: 'completed',
        exitCode: 0,
        signal: null,
        endedAt: expect.any(Number),
      });
      const out = await collectOutput(redis, keys, second);
      expect(out.stdout).toContain(`resuming ${session} after 1 prompts`);
      expect(out.system).toBe('');

      // The third finds the transcript the second one added to: carried from the second's container.
      const third = randomUUID();
      const next = claude('and the docs', { resumeSessionId: session, continues: second });
      expect(await execute(target, next, { taskId: third })).toMatchObject({ outcome: 'completed', exitCode: 0 });
      expect((await collectOutput(redis, keys, third)).stdout).toContain(`resuming ${session} after 2 prompts`);
    });

    it('carries the session for a non-root user under CLAUDE_CONFIG_DIR, in directories that user owns', async () => {
      // Neither /tmp/oca-claude nor its config directory is in the new container: both are made,
      // and the fake (as the CLI) writes there as the container's user.
      const target = makeExecutor('user', {
        user: '65534:65534',
        env: { CLAUDE_CONFIG_DIR: '/tmp/oca-claude/config' },
      });
      const first = randomUUID();
      const inWork = { workspace: '/work' };
      expect(await execute(target, claude('first prompt', inWork), { taskId: first })).toMatchObject({
        outcome: 'completed',
      });
      const session = await sessionOf(first);
      const second = randomUUID();
      const continuing = claude('more', { ...inWork, resumeSessionId: session, continues: first });
      expect(await execute(target, continuing, { taskId: second })).toMatchObject({
        outcome: 'completed',
        exitCode: 0,
      });
      expect((await collectOutput(redis, keys, second)).stdout).toContain(`resuming ${session} after 1 prompts`);
    });

    it("copies only the session's own files, not the other sessions of a shared config volume", async () => {
      // Both tasks of `shared` keep their sessions in one named volume at ~/.claude.
      const volume = `oca-ses-${run}-claude`;
      volumes.push(volume);
      const shared = makeExecutor('shared', { volumes: [`${dir}:${dir}`, `${volume}:/root/.claude`] });
      const [first, other] = [randomUUID(), randomUUID()];
      for (const taskId of [first, other])
        expect(await execute(shared, claude('a prompt'), { taskId })).toMatchObject({ outcome: 'completed' });
      const [session, otherSession] = [await sessionOf(first), await sessionOf(other)];

      const third = randomUUID();
      const continuing = claude('go on', { resumeSessionId: session, continues: first });
      expect(await execute(makeExecutor('fresh'), continuing, { taskId: third })).toMatchObject({
        outcome: 'completed',
        exitCode: 0,
      });
      expect((await collectOutput(redis, keys, third)).stdout).toContain(`resuming ${session} after 1 prompts`);
      const [container] = await docker.listContainers({ all: true, filters: { label: [`openclaw.task=${third}`] } });
      const project = `/root/.claude/projects/${projectDirName(dir)}`;
      const has = (file: string) =>
        docker
          .getContainer(container!.Id)
          .infoArchive({ path: `${project}/${file}` })
          .then(
            () => true,
            () => false,
          );
      expect([await has(`${session}.jsonl`), await has(`${otherSession}.jsonl`)]).toEqual([true, false]);
    });

    it('starts the run with one line of ours when the earlier container is gone, and claude finds no conversation', async () => {
      const target = makeExecutor('gone');
      const first = randomUUID();
      expect(await execute(target, claude('first prompt'), { taskId: first })).toMatchObject({ outcome: 'completed' });
      const session = await sessionOf(first);
      expect(await removeTaskContainers(target.config, first)).toHaveLength(1);

      const second = randomUUID();
      const continuing = claude('and now the tests', { resumeSessionId: session, continues: first });
      const result = await execute(target, continuing, { taskId: second });
      // The run started: claude itself failed, as the real CLI does without the transcript.
      expect(result).toEqual({ outcome: 'failed', exitCode: 1, signal: null, endedAt: expect.any(Number) });
      const { stderr, system } = await collectOutput(redis, keys, second);
      expect(stderr).toBe(`No conversation found with session ID: ${session}\n`);
      expect(system).toBe(
        `could not carry Claude session ${session} over into this container: no container of task ${first.slice(0, 8)} is on this engine (removed by \`cleanup\` or after \`container_retention\`, or it ran elsewhere)\n`,
      );
    });
  });
}
