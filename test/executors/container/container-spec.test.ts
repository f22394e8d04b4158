import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/index.js';
import {
  buildCreateOptions,
  containerLabels,
  containerName,
  homeFromPasswd,
} from '../../../src/executors/container/container-spec.js';

describe('container spec', () => {
  it('names a container after its executor and the first 8 characters of the task id, with the attempt for retries', () => {
    const id = '0123456789abcdef';
    expect(containerName('builder', id, 1)).toBe('openclaw-builder-01234567');
    expect(containerName('builder', id, 3)).toBe('openclaw-builder-01234567-3');
    expect(containerName('builder', id, 1, true)).toBe('openclaw-builder-0123456789abcdef');
    expect(containerLabels('builder', id, 2)).toEqual({
      'openclaw.task': id,
      'openclaw.executor': 'builder',
      'openclaw.attempt': '2',
    });
  });

  it('turns lone volume paths into anonymous volumes and leaves out the variables a command unsets', () => {
    const config = parseConfigText(
      'executors: [{name: b, type: container, image: img, volumes: ["/src:/work:ro", cache:/cache, /scratch], env: {A: 1}}]',
      't',
    ).executors[0]!;
    const options = buildCreateOptions({
      config,
      name: 'n',
      labels: {},
      command: { argv: ['claude', '-p'], stdin: 'prompt', env: { A: '1', CLAUDECODE: '1' }, unsetEnv: ['CLAUDECODE'] },
      argv: ['claude', '-p'],
      workdir: '/work',
    });
    expect(options.HostConfig?.Binds).toEqual(['/src:/work:ro', 'cache:/cache']);
    expect(options.Volumes).toEqual({ '/scratch': {} });
    expect(options.Env).toEqual(['A=1']);
    expect(options).toMatchObject({
      Entrypoint: [''],
      Cmd: ['claude', '-p'],
      WorkingDir: '/work',
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
    });
  });

  it('finds a home directory in /etc/passwd by name or uid, root by default', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/bash\n';
    expect(homeFromPasswd(passwd, '')).toBe('/root');
    expect(homeFromPasswd(passwd, 'node')).toBe('/home/node');
    expect(homeFromPasswd(passwd, '1000:1000')).toBe('/home/node');
    expect(homeFromPasswd(passwd, 'ghost')).toBeUndefined();
  });
});
