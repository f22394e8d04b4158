import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, eventually, FIXTURES, type Harness } from '../helpers/harness.js';
import { podmanSkipReason, startPodman, TEST_IMAGE, type PodmanService } from '../helpers/podman.js';

const skipReason = podmanSkipReason();

// The CLI and worker processes (the bundled CLI, which loads dockerode on its own) against a
// container executor on podman's Docker-compatible API: the paths a user takes.
describe.skipIf(skipReason)(
  `container executor through the CLI and worker processes${skipReason ? ` (${skipReason})` : ''}`,
  () => {
    let engine: PodmanService;
    let docker: Docker;
    let h: Harness;

    beforeAll(async () => {
      engine = await startPodman();
      docker = new Docker({ socketPath: engine.socket });
    });
    afterAll(async () => {
      await engine?.stop();
    });
    beforeEach(() => {
      h = createHarness({
        extraExecutors: (dir) => `  - name: box
    type: container
    image: ${TEST_IMAGE}
    runtime: podman
    socket: ${engine.url}
    pull: never
    volumes: ['${dir}:${dir}', '${FIXTURES}:${FIXTURES}:ro']
  - name: nowhere
    type: container
    image: ${TEST_IMAGE}
    socket: ${path.join(dir, 'no-engine.sock')}
`,
      });
    });
    afterEach(async () => {
      await h.cleanup();
      const listed = await docker.listContainers({ all: true, filters: { label: ['openclaw.executor=box'] } });
      await Promise.all(
        listed
          .filter((c) => c.Labels['openclaw.task'] !== undefined)
          .map((c) =>
            docker
              .getContainer(c.Id)
              .remove({ force: true })
              .catch(() => {}),
          ),
      );
    });

    it('kill stops the container with the grace period; cleanup removes it', async () => {
      await h.startWorker('box');
      const id = (
        await h.cli(['run', '-e', 'box', '-c', "trap 'echo term ignored' TERM; echo up; while :; do sleep 0.1; done"])
      ).stdout.trim();
      await eventually(
        async () => ((await h.logText(id)).stdout.includes('up') ? true : undefined),
        'the task to start',
      );
      expect((await h.cli(['kill', id, '--grace', '1s'])).exitCode).toBe(0);
      const status = await eventually(async () => {
        const view = JSON.parse((await h.cli(['status', id, '--json'])).stdout) as Record<string, unknown>;
        return view.status === 'killed' ? view : undefined;
      }, 'the task to end as killed');
      expect(status).toMatchObject({ exit_code: 137 });
      expect((await h.logText(id)).stdout).toBe('up\nterm ignored\n');

      const name = `openclaw-box-${id.slice(0, 8)}`;
      expect((await docker.getContainer(name).inspect()).State.Running).toBe(false);
      expect((await h.cli(['cleanup', id])).exitCode).toBe(0);
      await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    });

    it('a worker refuses to start with one line naming the socket when no engine answers', async () => {
      const worker = await h.cli(['worker', '--executor', 'nowhere']);
      expect(worker.exitCode).not.toBe(0);
      const lines = worker.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /executor "nowhere": no container engine answers at \S+no-engine\.sock \(.+\) — start the Docker daemon/,
      );
    });
  },
);
