import { describe, expect, it } from 'vitest';
import { parseEngineAddress, resolveEngineAddress } from '../../../src/executors/container/engine-address.js';

describe('engine address', () => {
  it('parses socket paths and the URL forms Docker clients take', () => {
    expect(parseEngineAddress('/run/podman/podman.sock')).toEqual({ socketPath: '/run/podman/podman.sock' });
    expect(parseEngineAddress('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(parseEngineAddress('tcp://10.0.0.5')).toEqual({ host: '10.0.0.5', port: 2375, protocol: 'http' });
    expect(parseEngineAddress('https://builder:2400')).toEqual({ host: 'builder', port: 2400, protocol: 'https' });
    expect(parseEngineAddress('ssh://jimmy@crib')).toEqual({
      host: 'crib',
      port: 22,
      protocol: 'ssh',
      username: 'jimmy',
    });
    for (const bad of ['docker.sock', 'unix://relative.sock', 'ftp://x', 'tcp://'])
      expect(parseEngineAddress(bad)).toBeUndefined();
  });

  it('takes the socket setting, then DOCKER_HOST, then the runtime default', () => {
    const env = { DOCKER_HOST: 'tcp://remote:2375', XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(resolveEngineAddress({ socket: '/s.sock', runtime: 'docker' }, env).where).toBe('/s.sock');
    expect(resolveEngineAddress({ runtime: 'docker' }, env)).toEqual({
      address: { host: 'remote', port: 2375, protocol: 'http' },
      where: 'tcp://remote:2375',
    });
    expect(resolveEngineAddress({ runtime: 'docker' }, {}).where).toBe('/var/run/docker.sock');
    expect(resolveEngineAddress({ runtime: 'podman' }, {}, 0).where).toBe('/run/podman/podman.sock');
    expect(resolveEngineAddress({ runtime: 'podman' }, { XDG_RUNTIME_DIR: '/run/user/1000' }, 1000).where).toBe(
      '/run/user/1000/podman/podman.sock',
    );
    expect(() => resolveEngineAddress({ runtime: 'docker' }, { DOCKER_HOST: 'nonsense' })).toThrow(
      /DOCKER_HOST=nonsense is not a socket path/,
    );
  });
});
