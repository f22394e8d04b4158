import { describe, expect, it } from 'vitest';
import { hoistGlobalFlags } from '../../cli/global-flags.js';

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
});
