import { describe, expect, it } from 'vitest';
import { projectDirName, transcriptPath } from '../../src/claude/session-files.js';

describe('session files', () => {
  it("names a working directory's project directory as the CLI does: every non-alphanumeric a dash", () => {
    expect(projectDirName('/srv/app')).toBe('-srv-app');
    expect(projectDirName('/home/jimmy/my repo_2.x')).toBe('-home-jimmy-my-repo-2-x');
    expect(projectDirName('/')).toBe('-');
  });

  it('replaces each UTF-16 unit, not each character: a decomposed accent and an emoji take two dashes', () => {
    expect(projectDirName('/w/cafe\u0301-😀')).toBe('-w-cafe----');
    expect(projectDirName('/w/café')).toBe('-w-caf-');
  });

  it('keeps a name of 200 characters whole, and cuts a longer one at 200 with a hash of the path appended', () => {
    // Names the real CLI 2.1.332 made for these paths.
    const a = (count: number) => 'a'.repeat(count);
    expect(projectDirName(`/tmp/ccp/${a(191)}`)).toBe(`-tmp-ccp-${a(191)}`);
    expect(projectDirName(`/tmp/ccp/${a(192)}`)).toBe(`-tmp-ccp-${a(191)}-9gh2gq`);
    const long = `/tmp/cc-probe-s0ax/a workspace whose name runs long.x/${'deep_'.repeat(30)}/and-ünïcode ✓ here/${'z'.repeat(60)}`;
    expect(projectDirName(long)).toBe(
      `-tmp-cc-probe-s0ax-a-workspace-whose-name-runs-long-x-${'deep-'.repeat(29)}d-i5dar9`,
    );
  });

  it('tells apart long paths that share their first 200 characters', () => {
    const base = `/${'x'.repeat(250)}`;
    expect(projectDirName(`${base}/one`)).not.toBe(projectDirName(`${base}/two`));
    expect(projectDirName(`${base}/one`).slice(0, 201)).toBe(projectDirName(`${base}/two`).slice(0, 201));
  });

  it('takes CLAUDE_CODE_PROJECT_DIR_NAME as the name when CLAUDE_CONFIG_DIR is set and the name is one the CLI takes', () => {
    const env = (entries: Record<string, string>) => new Map(Object.entries(entries));
    expect(
      projectDirName('/srv/app', env({ CLAUDE_CONFIG_DIR: '/cfg', CLAUDE_CODE_PROJECT_DIR_NAME: 'my-proj' })),
    ).toBe('my-proj');
    expect(projectDirName('/srv/app', env({ CLAUDE_CODE_PROJECT_DIR_NAME: 'my-proj' }))).toBe('-srv-app');
    for (const ignored of ['', 'a/b', 'x'.repeat(65), 'NUL', 'com1'])
      expect(
        projectDirName('/srv/app', env({ CLAUDE_CONFIG_DIR: '/cfg', CLAUDE_CODE_PROJECT_DIR_NAME: ignored })),
      ).toBe('-srv-app');
  });

  it("puts a session's transcript in its working directory's project directory", () => {
    expect(transcriptPath('0b5e7c1e-1d3f-4a55-9d4c-0f1e2d3c4b5a', '/work')).toBe(
      '-work/0b5e7c1e-1d3f-4a55-9d4c-0f1e2d3c4b5a.jsonl',
    );
  });
});
