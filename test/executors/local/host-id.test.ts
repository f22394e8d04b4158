import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfigText, resolveHostId } from '../../../src/index.js';

describe('host id', () => {
  it("is OPENCLAW_AGENT_HOST_ID, then the config's worker.host_id, then the hostname", () => {
    expect(resolveHostId('from-config', { OPENCLAW_AGENT_HOST_ID: 'from-env' })).toBe('from-env');
    expect(resolveHostId('from-config', {})).toBe('from-config');
    expect(resolveHostId(undefined, {})).toBe(hostname());
  });

  it('ignores a blank OPENCLAW_AGENT_HOST_ID', () => {
    expect(resolveHostId('from-config', { OPENCLAW_AGENT_HOST_ID: '  ' })).toBe('from-config');
  });

  it('reads worker.host_id from the config and refuses an empty one', () => {
    expect(parseConfigText('executors: []\nworker:\n  host_id: build-1\n', 'test').worker.host_id).toBe('build-1');
    expect(() => parseConfigText('executors: []\nworker:\n  host_id: ""\n', 'test')).toThrow(/host_id/);
  });
});
