// Mutation testing of the modules that carry the promises: one transaction per write, the locks,
// run tracking, redaction, the HTTP client and the contract mappings' writes. `make mutate`
// (scripts/mutate.ts) runs the groups below one after another, each module group with the test
// files that exercise it: every surviving mutant costs a run of its group's test files, so the
// whole suite per mutant would take hours on a small machine. See docs/mutation-testing.md.

/**
 * `inProcess`: the tests call the module in their own process and never start the CLI (the
 * sandbox has no dist/), so per-test coverage works: each mutant runs only the files that reach
 * it, nothing is compiled, and a test stuck on a lock fails after 20 s instead of waiting for
 * Stryker's timeout.
 * @type {readonly { name: string, mutate: string[], tests: string[], inProcess?: boolean }[]}
 */
export const groups = [
  {
    name: 'redact',
    mutate: ['src/redact.ts'],
    // The unit tests of the masks; the CLI's redaction tests (config, logging, the HTTP client's
    // errors) reach the same code through dist/ and would cost a build and minutes per mutant.
    tests: ['test/foundation/redact.test.ts'],
    inProcess: true,
  },
  {
    name: 'locks',
    mutate: ['src/db/locks.ts'],
    tests: ['test/runs/locks.test.ts'],
    inProcess: true,
  },
  {
    name: 'runs',
    mutate: ['src/runs/job-runner.ts', 'src/runs/run-tracker.ts'],
    // Small test jobs run in-process: a few seconds per mutant, where the CLI's run-tracking
    // tests take half a minute and reach the same code.
    tests: ['test/runs/job-runner.test.ts', 'test/runs/job-runner-log.test.ts', 'test/runs/cancellation.test.ts'],
    inProcess: true,
  },
  {
    name: 'bulk-sync',
    mutate: ['src/db/bulk-sync.ts', 'src/db/staged-merge.ts'],
    // bulkSync called in-process, its last statement failing included; the contract store's
    // tests reach the parts of staged-merge.ts only it uses (copyRows, copyStageSql).
    // last-statement-syncs.test.ts makes the same failure through the CLI, in the ordinary suite.
    tests: ['test/sync/bulk-sync.test.ts', 'test/contracts/store.test.ts'],
    inProcess: true,
  },
  {
    name: 'http',
    mutate: ['src/defillama/client.ts', 'src/defillama/http.ts'],
    // The client in-process against small scripted servers on loopback, and the Moralis client
    // (the key-header side of http.ts). client.test.ts and redaction.test.ts run the same code
    // against the replica, whose start costs seconds per mutant: they stay in the ordinary suite.
    tests: ['test/defillama/http.test.ts', 'test/moralis/client.test.ts'],
    inProcess: true,
  },
  {
    name: 'contracts',
    mutate: ['src/contracts/store.ts'],
    // The store's reads and its write transaction called in-process; map-contracts.test.ts and
    // last-statement-jobs.test.ts run the same code through the CLI, at minutes per mutant.
    tests: ['test/contracts/store.test.ts'],
    inProcess: true,
  },
];

// scripts/mutate.ts sets these for each group; a bare `npx stryker run` takes every group at once.
const tests = process.env.MUTATE_TESTS?.split(',') ?? [...new Set(groups.flatMap((g) => g.tests))];
const report = process.env.MUTATE_REPORT ?? 'reports/mutation/mutation';
const inProcess = process.env.MUTATE_IN_PROCESS === '1';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: {
    testFiles: tests,
    nodeArgs: inProcess
      ? ['--import', 'tsx', '--test-reporter=tap', '--test-timeout=20000', '--test-force-exit', '-r', '{{hookFile}}', '{{testFile}}']
      : ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '-r', './scripts/stryker-cover-all.cjs', '{{testFile}}'],
    forceBail: true,
  },
  mutate: process.env.MUTATE_FILES?.split(',') ?? groups.flatMap((g) => g.mutate),
  // The CLI tests run dist/: it is compiled from the instrumented sources, and the CLI children
  // receive the active mutant through their environment (test/helpers/cli.ts).
  ...(inProcess ? {} : { buildCommand: 'npx tsc -p tsconfig.build.json' }),
  // Mutants reached only inside a CLI child are not seen by per-test coverage.
  coverageAnalysis: inProcess ? 'perTest' : 'off',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: inProcess ? 15_000 : 60_000,
  ignorePatterns: ['dist', 'bench/results', 'reports', '.stryker-tmp'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${report}.html` },
  jsonReporter: { fileName: `${report}.json` },
  thresholds: { high: 90, low: 75, break: null },
};
