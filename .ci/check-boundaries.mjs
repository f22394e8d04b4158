// Layering guard: src/ is the library and imports nothing from cli/, workers/ or bull-board/;
// workers/ and bull-board/ never import cli/; and no relative import cycle exists anywhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const layers = ['src', 'cli', 'workers', 'bull-board'];
const forbidden = { src: ['cli', 'workers', 'bull-board'], workers: ['cli', 'bull-board'], 'bull-board': ['cli', 'workers'] };

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
const importPattern = /(?:(?:import|export)\s[^'"]*?from\s+|=\s*require\(\s*)['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
for (const file of files) {
  const layer = path.relative(root, file).split(path.sep)[0];
  const deps = [];
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    const target = path.resolve(path.dirname(file), (match[1] ?? match[2]).replace(/\.([cm]?)js$/, '.$1ts'));
    const targetLayer = path.relative(root, target).split(path.sep)[0];
    if (forbidden[layer]?.includes(targetLayer)) {
      problems.push(`${path.relative(root, file)} imports ${path.relative(root, target)} (${layer}/ must not depend on ${targetLayer}/)`);
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
    const cycle = stack.slice(stack.indexOf(file)).concat(file).map((f) => path.relative(root, f));
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
