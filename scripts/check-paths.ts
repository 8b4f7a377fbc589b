/**
 * Fails when code, tests, scripts, the benchmark, the Makefile or CI read (or tell readers to look
 * at) a path outside the repository: a user's clone has nothing beside it. Part of `make lint`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOTS = ['src', 'test', 'scripts', 'bench', 'replica', 'Makefile', '.ci'];
const SKIP = new Set(['node_modules', 'dist', 'results']);
// A folder beside the checkout, reached from the repository's root or from a file below it.
const OUTSIDE = [/\.\.\/shared\b/, /(^|[\s'"`(=])\.\.\/(?!\.\.\/)[a-z][\w.-]*\/reference\b/];

function files(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    return [];
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => (SKIP.has(name) ? [] : files(join(path, name))));
}

const problems: string[] = [];
for (const file of ROOTS.flatMap(files)) {
  if (!/\.(ts|js|mjs|sh|json|md|ya?ml|sql)$|Makefile$|\/run$/.test(file)) continue;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (OUTSIDE.some((re) => re.test(line))) problems.push(`${relative('.', file)}:${i + 1}: ${line.trim()}`);
  });
}
if (problems.length > 0) {
  console.error(`Paths outside the repository (a fresh clone has nothing beside it):\n${problems.join('\n')}`);
  process.exit(1);
}
