/**
 * The test command: provides a real PostgreSQL (TEST_DATABASE_URL, or an embedded server in a
 * temporary directory), then runs the test files with node's test runner. Each test file makes
 * its own database on that server, so files run in parallel without seeing each other.
 *
 *   tsx scripts/run-tests.ts [filter...]         every file outside test/e2e/ (`make test`)
 *   tsx scripts/run-tests.ts --e2e [filter...]   the files in test/e2e/ (`make e2e`)
 *
 * CLI tests run the compiled dist/src/bin.js, so it is rebuilt first when a source is newer.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { serverFrom } from './scratch-postgres.js';

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Newest modification time of the files under `dir` (or of the file itself). */
function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

// A test of the CLI must not run yesterday's build of it.
const built = join('dist', 'src', 'bin.js');
if (!existsSync(built) || Math.max(newest('src'), newest('tsconfig.json'), newest('tsconfig.build.json'), newest('package.json')) > statSync(built).mtimeMs) {
  console.log('# building dist/ (a source is newer than the build)');
  // The package's own build: from an empty dist/, so a moved or deleted module never lingers.
  const build = spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
chmodSync(built, 0o755); // as `npm run build` does: `npx defi-sync` runs the file itself

const e2e = process.argv.includes('--e2e');
const filters = process.argv.slice(2).filter((a) => a !== '--e2e');
const files = findTests(e2e ? join('test', 'e2e') : 'test')
  .map((f) => relative(process.cwd(), f))
  .filter((f) => e2e || !f.startsWith(join('test', 'e2e')))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(' ')}`);
  process.exit(2);
}

const server = await serverFrom('TEST_DATABASE_URL', 'test');
console.log(`# tests use ${server.origin}`);

const concurrency = process.env.TEST_CONCURRENCY ?? (e2e ? '1' : '2');
// A stuck test fails with its name in bounded time instead of hanging the run. Node applies the
// bound to each test and to each file as a whole, so it is sized for the longest file; tests that
// must wait longer than that say so with their own { timeout }.
const testTimeout = process.env.TEST_TIMEOUT_MS ?? (e2e ? '1800000' : '300000');
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${testTimeout}`, '--test-force-exit', ...files], {
  stdio: 'inherit',
  env: { ...process.env, TEST_DATABASE_URL: server.url, DEFI_SYNC_TEST: '1' },
});
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));

await server.close();
process.exit(code);
