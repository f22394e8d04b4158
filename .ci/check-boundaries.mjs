// Layering guard: src/ is the library and imports nothing from cli/, workers/ or bull-board/;
// workers/ and bull-board/ never import cli/; inside src/ each folder imports only the folders
// DOMAINS allows it; and no relative import cycle exists anywhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const layers = ['src', 'cli', 'workers', 'bull-board'];
const forbidden = {
  src: ['cli', 'workers', 'bull-board'],
  workers: ['cli', 'bull-board'],
  'bull-board': ['cli', 'workers'],
};

// What each folder of src/ may import from the rest of src/ (its own files always). The direction
// runs from the edges (worker, mcp, stack, the API client) down to text/ and errors.ts, which
// import nothing of ours. A folder not listed here fails the check until it is given its place.
const EXECUTOR_PARTS = ['executors', 'executors/local', 'executors/shell', 'executors/ssh', 'executors/container'];
const DOMAINS = {
  text: [],
  errors: ['text'],
  config: ['errors', 'text', 'executors/container', 'executors/shell', 'notify', 'tasks'],
  redis: ['config', 'errors', 'text'],
  logs: ['config', 'errors', 'redis', 'tasks', 'text'],
  tasks: ['claude', 'config', 'errors', 'executors', 'executors/shell', 'git', 'logs', 'notify', 'redis', 'text'],
  claude: ['config', 'errors', 'git', 'logs', 'redis', 'tasks', 'text'],
  git: ['config', 'errors', ...EXECUTOR_PARTS, 'tasks', 'text'],
  notify: ['config', 'errors', 'executors', 'logs', 'redis', 'tasks', 'text'],
  ...Object.fromEntries(
    EXECUTOR_PARTS.map((part) => [part, ['claude', 'config', 'errors', ...EXECUTOR_PARTS, 'logs', 'tasks', 'text']]),
  ),
  schedules: ['config', 'errors', 'redis', 'tasks', 'text'],
  insights: ['tasks'],
  stack: ['config', 'errors', 'executors', 'redis', 'text'],
  api: ['config', 'errors', 'git', 'logs', 'schedules', 'tasks', 'text'],
  mcp: ['api', 'claude', 'config', 'errors', 'git', 'logs', 'redis', 'schedules', 'tasks', 'text'],
  worker: [
    'claude',
    'config',
    'errors',
    ...EXECUTOR_PARTS,
    'git',
    'logs',
    'notify',
    'redis',
    'schedules',
    'tasks',
    'text',
  ],
};

// The folder of src/ a file belongs to: `tasks`, `executors/ssh`, or a file's own name at the top.
function domainOf(relative) {
  const parts = relative.split(path.sep).slice(1);
  if (parts[0] === 'executors' && parts.length > 2) return `executors/${parts[1]}`;
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.[cm]?ts$/, '');
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else if (/\.[cm]?tsx?$/.test(name) && !/\.d\.[cm]?ts$/.test(name)) out.push(full);
  }
  return out;
}

const files = layers.flatMap((layer) => {
  try {
    return walk(path.join(root, layer));
  } catch {
    return [];
  }
});
const graph = new Map();
const problems = [];
// `from '…'` and `= require('…')` (CommonJS entries) load at once; `import('…')` lazily.
const importPattern =
  /(?:(?:import|export)\s[^'"]*?from\s+|=\s*require\(\s*)['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
for (const file of files) {
  const layer = path.relative(root, file).split(path.sep)[0];
  const deps = [];
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    const target = path.resolve(path.dirname(file), (match[1] ?? match[2]).replace(/\.([cm]?)js$/, '.$1ts'));
    const targetLayer = path.relative(root, target).split(path.sep)[0];
    if (forbidden[layer]?.includes(targetLayer)) {
      problems.push(
        `${path.relative(root, file)} imports ${path.relative(root, target)} (${layer}/ must not depend on ${targetLayer}/)`,
      );
    }
    if (layer === 'src' && targetLayer === 'src') {
      const from = domainOf(path.relative(root, file));
      const to = domainOf(path.relative(root, target));
      // src/index.ts is the library's face: it may name anything.
      if (from !== to && from !== 'index' && !DOMAINS[from]?.includes(to)) {
        const allowed = DOMAINS[from];
        const rule = !allowed
          ? `src/${from} is not in DOMAINS in .ci/check-boundaries.mjs: give it its place there`
          : allowed.length === 0
            ? `src/${from} imports nothing of src/`
            : `src/${from} may import only ${allowed.map((d) => `src/${d}`).join(', ')}`;
        problems.push(`${path.relative(root, file)} imports ${path.relative(root, target)} (${rule})`);
      }
    }
    // Lazy imports (import()) do not form load-time cycles.
    if (match[1]) deps.push(target);
  }
  graph.set(file, deps);
}

const state = new Map();
function visit(file, stack) {
  if (state.get(file) === 'done') return;
  if (state.get(file) === 'active') {
    const cycle = stack
      .slice(stack.indexOf(file))
      .concat(file)
      .map((f) => path.relative(root, f));
    problems.push(`import cycle: ${cycle.join(' -> ')}`);
    return;
  }
  state.set(file, 'active');
  for (const dep of graph.get(file) ?? []) visit(dep, [...stack, file]);
  state.set(file, 'done');
}
for (const file of graph.keys()) visit(file, []);

if (problems.length > 0) {
  for (const p of problems) console.error(`boundary check: ${p}`);
  process.exit(1);
}
console.log(`boundary check: ${files.length} files, no layer violations, no import cycles`);
