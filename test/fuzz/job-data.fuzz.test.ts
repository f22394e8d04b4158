import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskKeys, TaskRequestSchema } from '../../src/index.js';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { expectOneLine, fuzzParameters, junkText, STACK_FRAME } from './fuzz-support.js';

const BATCH = 6;

// A request the worker accepts; mutations never touch the command, so nothing but `true` runs.
const validRequest = () => ({
  executor: 'local',
  payload: {
    type: 'shell_command',
    command: 'true',
    args: [] as string[],
    env: {} as Record<string, string>,
    workingDir: '/tmp',
  },
  labels: [] as string[],
  retries: 0,
  createdAt: Date.now(),
});

const anyValue = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  junkText(30),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, -1, 0, 1e300, '', [], {}),
);
const FIELDS = [
  'executor',
  'payload',
  'payload.type',
  'payload.env',
  'payload.workingDir',
  'labels',
  'name',
  'timeoutMs',
  'callbackUrl',
  'retries',
  'backoffMs',
  'createdAt',
  'signature',
  'extra',
] as const;

// Job data as a program with Redis access might write it: anything at all, or a request with one field wrong.
const jobData: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...FIELDS), anyValue).map(([field, value]) => {
      const request: Record<string, unknown> = validRequest();
      const [head, tail] = field.split('.') as [string, string | undefined];
      if (tail === undefined) request[head] = value;
      else (request[head] as Record<string, unknown>)[tail] = value;
      return request;
    }),
  },
  // Valid to the schema but odd: env names with `=`, huge names, labels of every kind.
  {
    weight: 1,
    arbitrary: fc
      .record({
        env: fc.dictionary(
          junkText(8).filter((k) => k !== ''),
          junkText(8),
          { maxKeys: 3 },
        ),
        labels: fc.array(junkText(6).filter((l) => l !== '')),
        name: junkText(60).filter((n) => n !== ''),
      })
      .map(({ env, labels, name }) => {
        const request = validRequest();
        return { ...request, payload: { ...request.payload, env }, labels, name };
      }),
  },
);

describe('job data fuzz: a worker refuses malformed jobs with a recorded one-line error and keeps running', () => {
  let h: Harness;
  let worker: ChildProcess;
  let redis: Redis;
  let queue: Queue;
  let keys: TaskKeys;
  let workerOutput = '';

  beforeAll(async () => {
    h = createHarness();
    worker = await h.startWorker('local');
    worker.stderr!.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
    redis = h.redis();
    queue = new Queue('local', { connection: h.redis(), prefix: h.prefix });
    keys = new TaskKeys(h.prefix);
  });
  afterAll(async () => {
    await queue?.close();
    await h?.cleanup();
  });

  it(
    'ends every job written straight into Redis: malformed ones failed with the reason, valid ones run',
    { timeout: 120_000 },
    async () => {
      const tally = { refused: 0, ran: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(jobData, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const jobs = batch.map((data) => ({ id: randomUUID(), data }));
          await queue.addBulk(jobs.map(({ id, data }) => ({ name: 'fuzz', data, opts: { jobId: id } })));
          for (const { id, data } of jobs) {
            const record = await eventually(
              async () => {
                const hash = await redis.hgetall(keys.record(id));
                return hash.finished_at ? hash : undefined;
              },
              `job ${id} with data ${JSON.stringify(data)} to end`,
              15_000,
            );
            if (TaskRequestSchema.safeParse(data).success) {
              tally.ran++;
              expect(record.outcome, JSON.stringify(record)).toMatch(/^(completed|failed)$/);
              continue;
            }
            tally.refused++;
            expect(record.outcome).toBe('failed');
            expect(record.error, JSON.stringify(data)).toMatch(/^invalid task data in Redis: /);
            expectOneLine(record.error!, 'recorded error');
            // BullMQ moves the job to failed just after the task's record has ended.
            const job = await eventually(
              async () => {
                const found = await queue.getJob(id);
                return found?.failedReason !== undefined && (await found.getState()) === 'failed' ? found : undefined;
              },
              `job ${id} to be failed`,
              15_000,
            );
            expect(job.failedReason).toBe(record.error);
          }
          expect(worker.exitCode, workerOutput).toBeNull();
          expect(worker.signalCode).toBeNull();
        }),
        fuzzParameters(400, 100),
      );
      expect(tally.refused).toBeGreaterThan(100);
      expect(tally.ran).toBeGreaterThan(20);
    },
  );

  it('still runs a valid task afterwards, and printed no stack trace', async () => {
    const r = await h.cli(['run', '-e', 'local', '-f', '--cmd', 'echo still-alive']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('still-alive\n');
    expect(worker.exitCode).toBeNull();
    expect(workerOutput).not.toMatch(STACK_FRAME);
  });
});
