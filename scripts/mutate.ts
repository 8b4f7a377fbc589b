/**
 * `make mutate`: StrykerJS over the module groups of stryker.config.mjs, one group after another,
 * each with its own test files, against a real PostgreSQL (TEST_DATABASE_URL, or an embedded
 * server in a temporary directory); then a table of the scores per module, per group and overall.
 *
 *   tsx scripts/mutate.ts [group...]           the named groups (all of them without a name)
 *   tsx scripts/mutate.ts --mutate <files>     other stryker arguments: one run, MUTATE_TESTS for its tests
 *
 * Reports: reports/mutation/<group>.html and .json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { serverFrom } from './scratch-postgres.js';
// @ts-expect-error: the Stryker configuration is plain JavaScript without types.
import { groups as allGroups } from '../stryker.config.mjs';

interface Group {
  readonly name: string;
  readonly mutate: readonly string[];
  readonly tests: readonly string[];
  readonly inProcess?: boolean;
}
type Counts = Record<'killed' | 'timeout' | 'survived' | 'noCoverage' | 'errors', number>;

const groups = allGroups as readonly Group[];
const args = process.argv.slice(2);
const unknown = args.some((a) => a.startsWith('-')) ? [] : args.filter((a) => !groups.some((g) => g.name === a));
if (unknown.length) {
  console.error(`no mutation group named ${unknown.join(', ')} (groups: ${groups.map((g) => g.name).join(', ')})`);
  process.exit(2);
}
const server = await serverFrom('TEST_DATABASE_URL', 'mutate');
// The test processes reuse one set of databases per Stryker worker, named after this run (see
// test/helpers/db.ts); they are dropped at the end.
const databases = `defi_sync_m${randomBytes(3).toString('hex')}`;
const stryker = (extra: readonly string[], env: Record<string, string>) =>
  new Promise<number>((resolve) => {
    const child = spawn('npx', ['stryker', 'run', ...extra], {
      stdio: 'inherit',
      env: { ...process.env, ...env, TEST_DATABASE_URL: server.url, DEFI_SYNC_TEST: '1', MUTATE_DATABASES: databases },
    });
    child.on('close', (c) => resolve(c ?? 1));
  });

let code = 0;
try {
  if (args.some((a) => a.startsWith('-'))) {
    code = await stryker(args, {});
  } else {
    const chosen = args.length ? groups.filter((g) => args.includes(g.name)) : groups;
    const rows: { group: string; file: string; counts: Counts; minutes?: number }[] = [];
    for (const g of chosen) {
      const t0 = performance.now();
      const report = `reports/mutation/${g.name}`;
      console.log(`\n# mutation group ${g.name}: ${g.mutate.join(', ')} with ${g.tests.join(', ')}`);
      const rc = await stryker([], { MUTATE_FILES: g.mutate.join(','), MUTATE_TESTS: g.tests.join(','), MUTATE_REPORT: report, MUTATE_IN_PROCESS: g.inProcess ? '1' : '' });
      const minutes = (performance.now() - t0) / 60_000;
      if (rc !== 0) {
        code = rc;
        rows.push({ group: g.name, file: `(stryker exited ${rc})`, counts: count([]), minutes });
        continue;
      }
      const files = (JSON.parse(readFileSync(`${report}.json`, 'utf8')) as { files: Record<string, { mutants: { status: string }[] }> }).files;
      const perFile = Object.entries(files).map(([file, f]) => ({ group: g.name, file, counts: count(f.mutants) }));
      rows.push(...perFile, { group: g.name, file: '(group)', counts: sum(perFile.map((r) => r.counts)), minutes });
    }
    const total = sum(rows.filter((r) => r.file === '(group)').map((r) => r.counts));
    console.log('\n# mutation scores (killed + timeout) / (killed + timeout + survived + no coverage)\n');
    console.log(['group', 'module', 'score', 'killed', 'timeout', 'survived', 'no cov', 'errors', 'minutes'].join('\t'));
    for (const r of [...rows, { group: 'all', file: '(overall)', counts: total }]) {
      const c = r.counts;
      console.log([r.group, r.file, score(c), c.killed, c.timeout, c.survived, c.noCoverage, c.errors, 'minutes' in r && r.minutes !== undefined ? r.minutes.toFixed(1) : ''].join('\t'));
    }
  }
} finally {
  await dropDatabases();
  await server.close();
}

async function dropDatabases(): Promise<void> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    const names = (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [`${databases}_`])).rows;
    for (const { datname } of names) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
process.exit(code);

function count(mutants: readonly { status: string }[]): Counts {
  const c: Counts = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0 };
  for (const m of mutants) {
    if (m.status === 'Killed') c.killed++;
    else if (m.status === 'Timeout') c.timeout++;
    else if (m.status === 'Survived') c.survived++;
    else if (m.status === 'NoCoverage') c.noCoverage++;
    else if (m.status === 'CompileError' || m.status === 'RuntimeError') c.errors++;
  }
  return c;
}

function sum(all: readonly Counts[]): Counts {
  return all.reduce((a, c) => ({ killed: a.killed + c.killed, timeout: a.timeout + c.timeout, survived: a.survived + c.survived, noCoverage: a.noCoverage + c.noCoverage, errors: a.errors + c.errors }), count([]));
}

function score(c: Counts): string {
  const valid = c.killed + c.timeout + c.survived + c.noCoverage;
  return valid ? `${((100 * (c.killed + c.timeout)) / valid).toFixed(1)} %` : '-';
}
