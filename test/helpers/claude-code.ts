import path from 'node:path';
import { ensureNpmTool, exists, installedVersion, testToolsDir } from './test-tools.js';

/**
 * The Claude Code CLI the real-CLI suite runs: npm `@anthropic-ai/claude-code`, whose platform
 * package carries a native binary (no download when it runs). 2.1.332 declares Node ≥ 22 but is
 * that binary, which runs whatever Node the machine has: npm only warns.
 */
export const CLAUDE_CODE_VERSION = '2.1.332';

/** Installs the CLI into the test tools directory unless it is there; returns the binary. */
export async function ensureClaudeCode(): Promise<string> {
  const root = path.join(testToolsDir(), 'claude-code', 'node_modules', '@anthropic-ai', 'claude-code');
  const binary = path.join(root, 'bin', 'claude.exe');
  await ensureNpmTool(
    'claude-code',
    `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`,
    () => installedVersion(path.join(root, 'package.json')) === CLAUDE_CODE_VERSION && exists(binary),
  );
  return binary;
}

/** The environment that keeps the CLI offline, talking to a fake Messages API at `url`. */
export function offlineClaudeEnv(url: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: 'sk-ant-fake-key-for-tests',
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // Two retries of a failed call, not ten over three minutes.
    CLAUDE_CODE_MAX_RETRIES: '2',
  };
}
