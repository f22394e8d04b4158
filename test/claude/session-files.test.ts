import { describe, expect, it } from 'vitest';
import { projectDirName, transcriptPath } from '../../src/claude/session-files.js';

describe('session files', () => {
  it("names a working directory's project directory as the CLI does: every non-alphanumeric a dash", () => {
    expect(projectDirName('/srv/app')).toBe('-srv-app');
    expect(projectDirName('/home/jimmy/my repo_2.x')).toBe('-home-jimmy-my-repo-2-x');
    expect(projectDirName('/')).toBe('-');
  });

  it("puts a session's transcript in its working directory's project directory", () => {
    expect(transcriptPath('0b5e7c1e-1d3f-4a55-9d4c-0f1e2d3c4b5a', '/work')).toBe(
      '-work/0b5e7c1e-1d3f-4a55-9d4c-0f1e2d3c4b5a.jsonl',
    );
  });
});
