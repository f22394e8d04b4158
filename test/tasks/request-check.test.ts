import { describe, expect, it } from 'vitest';
import { buildClaudePayload, buildShellPayload, parseConfigText, type LoadedConfig } from '../../src/index.js';
import { buildTaskRequest, type EnqueueInput } from '../../src/tasks/request-check.js';

// The checks a new request gets, and what a request made before (a schedule's template, a task
// retried, maybe by an earlier version that did not check as much) gets instead: it runs as it did.

const config: LoadedConfig = {
  ...parseConfigText('executors:\n  - name: local\n    type: local\n', 'config.yaml'),
  sourcePath: undefined,
};
const executor = config.executors[0]!;
const build = (input: EnqueueInput) => buildTaskRequest(config, executor, input, {}, Date.now()).request;
const claude = buildClaudePayload({ prompt: 'fix the build', workspace: '/srv/app' });
const shell = buildShellPayload({ cmd: 'make', workdir: '/srv/app' });

describe('buildTaskRequest', () => {
  it('refuses, in a new request, a count of waits with on-limit fail and a callback on a port fetch refuses', () => {
    expect(() => build({ payload: claude, onLimit: 'fail', limitWaits: 2 })).toThrow(
      /^--limit-waits counts waits for a usage limit, and --on-limit fail never waits: drop one$/,
    );
    expect(() => build({ payload: shell, callbackUrl: 'http://127.0.0.1:6000/hook' })).toThrow(
      /^--callback: fetch refuses to connect to port 6000/,
    );
  });

  it('takes a request made before as it was: the callback kept, the count of waits that never happen dropped', () => {
    expect(build({ payload: claude, onLimit: 'fail', limitWaits: 2, replayed: true })).toMatchObject({
      onLimit: 'fail',
      limitWaits: undefined,
    });
    expect(build({ payload: shell, callbackUrl: 'http://127.0.0.1:6000/hook', replayed: true })).toMatchObject({
      callbackUrl: 'http://127.0.0.1:6000/hook',
    });
    // What every version refused stays refused.
    expect(() => build({ payload: shell, onLimit: 'wait', replayed: true })).toThrow(/are for Claude tasks/);
    expect(build({ payload: claude, onLimit: 'wait', limitWaits: 2, replayed: true })).toMatchObject({
      onLimit: 'wait',
      limitWaits: 2,
    });
  });
});
