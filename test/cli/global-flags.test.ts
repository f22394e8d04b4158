import { describe, expect, it } from 'vitest';
import { argvEncodingProblem, hoistGlobalFlags } from '../../cli/global-flags.js';

describe('hoistGlobalFlags', () => {
  it("takes the original tool's leading -c/--config and -v into the environment", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(hoistGlobalFlags(['-c', 'x.yaml', '-v', 'status', '-t', 'abc'], env)).toEqual(['status', '-t', 'abc']);
    expect(env).toEqual({ OPENCLAW_AGENT_CONFIG: 'x.yaml', OPENCLAW_AGENT_VERBOSE: '1' });
  });

  it("leaves -c after the subcommand to run's --cmd", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(hoistGlobalFlags(['run', '-c', 'make'], env)).toEqual(['run', '-c', 'make']);
    expect(env).toEqual({});
  });

  it('hands an empty leading --config to the command, before any --, for it to refuse', () => {
    const env: NodeJS.ProcessEnv = { OPENCLAW_AGENT_CONFIG: 'x.yaml' };
    expect(hoistGlobalFlags(['--config', '', 'list'], env)).toEqual(['list', '--config=']);
    expect(hoistGlobalFlags(['-c', '', 'run', '-e', 'a', '--', 'ls', '-c', ''], env)).toEqual([
      'run',
      '-e',
      'a',
      '--config=',
      '--',
      'ls',
      '-c',
      '',
    ]);
    expect(hoistGlobalFlags(['--config=', 'schedule', 'list'], env)).toEqual(['schedule', 'list', '--config=']);
    expect(env).toEqual({ OPENCLAW_AGENT_CONFIG: 'x.yaml' });
  });
});

describe('argvEncodingProblem', () => {
  const processArgv = ['/usr/bin/node', '/opt/bin.cjs', 'run', '--name', 'n', '--', 'cat', 'caf\uFFFD.txt'];
  const words = processArgv.slice(3);
  const raw = (last: Buffer) => () => [...processArgv.slice(0, -1).map((w) => Buffer.from(w)), last];

  it('names the word whose bytes were not UTF-8, showing them', () => {
    expect(argvEncodingProblem(words, processArgv, raw(Buffer.from('caf\xe9.txt', 'latin1')))).toMatch(
      /^word 2 after -- \(`caf\\xe9\.txt`\) is not valid UTF-8 — .*printf/,
    );
  });

  it('takes U+FFFD typed as UTF-8', () => {
    expect(argvEncodingProblem(words, processArgv, raw(Buffer.from('caf\uFFFD.txt')))).toBeUndefined();
  });

  it('refuses U+FFFD when the bytes typed cannot be read, saying so', () => {
    expect(argvEncodingProblem(words, processArgv, () => undefined)).toMatch(
      /^word 2 after -- \(`caf\uFFFD\.txt`\) holds U\+FFFD, .*cannot show the bytes typed/,
    );
  });

  it('leaves words that did not come from the command line alone', () => {
    expect(argvEncodingProblem(['--', 'x\uFFFD'], processArgv, () => undefined)).toBeUndefined();
  });
});
