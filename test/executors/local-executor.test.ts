import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { LocalExecutor, parseConfigText } from '../../src/index.js';
import { describeExecutorConformance, readLocalFile } from './executor-conformance.js';
import { countProcessGroup } from '../helpers/processes.js';

describeExecutorConformance('local', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-local-'));
  const config = parseConfigText(
    `executors:
  - name: local
    type: local
    spool_dir: ${path.join(dir, 'spool')}
    env: { OCA_EXECUTOR_VAR: from executor }
`,
    'test',
  );
  return {
    executor: new LocalExecutor(),
    executorConfig: config.executors[0]!,
    workdir: dir,
    home: homedir(),
    async killFromOutside(handle) {
      process.kill(-Number(handle.pid), 'SIGKILL');
    },
    async processesLeft(handle) {
      return countProcessGroup(Number(handle.pid));
    },
    readFile: readLocalFile,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
