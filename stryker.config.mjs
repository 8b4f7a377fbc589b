// Mutation testing of the modules that carry the promises: one transaction per write, the locks,
// run tracking, redaction, the HTTP client and the contract mappings' writes. `make mutate`
// (scripts/mutate.ts) runs the groups below one after another, each module group with the test
// files that exercise it: every surviving mutant costs a run of its group's test files, so the
// whole suite per mutant would take hours on a small machine. See docs/mutation-testing.md.

/** @type {readonly { name: string, mutate: string[], tests: string[] }[]} */
export const groups = [
  {
    name: 'redact',
    mutate: ['src/redact.ts'],
    tests: ['test/foundation/redact.test.ts', 'test/foundation/config.test.ts', 'test/foundation/logging.test.ts', 'test/defillama/redaction.test.ts'],
  },
  {
    name: 'runs',
    mutate: ['src/runs/job-runner.ts', 'src/runs/run-tracker.ts', 'src/db/locks.ts'],
    // In-process runs of small test jobs: a second each, where the CLI's run-tracking tests take
    // half a minute per mutant and reach the same code.
    tests: ['test/runs/job-runner.test.ts', 'test/runs/locks.test.ts', 'test/runs/cancellation.test.ts'],
  },
  {
    name: 'bulk-sync',
    mutate: ['src/db/bulk-sync.ts'],
    tests: ['test/sync/bulk-sync.test.ts', 'test/integrity/last-statement-syncs.test.ts'],
  },
  {
    name: 'http',
    mutate: ['src/defillama/client.ts', 'src/defillama/http.ts'],
    tests: ['test/defillama/client.test.ts', 'test/defillama/redaction.test.ts'],
  },
  {
    name: 'contracts',
    mutate: ['src/contracts/store.ts'],
    tests: ['test/contracts/map-contracts.test.ts', 'test/integrity/last-statement-jobs.test.ts'],
  },
];

// scripts/mutate.ts sets these for each group; a bare `npx stryker run` takes every group at once.
const tests = process.env.MUTATE_TESTS?.split(',') ?? [...new Set(groups.flatMap((g) => g.tests))];
const report = process.env.MUTATE_REPORT ?? 'reports/mutation/mutation';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: {
    testFiles: tests,
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '-r', './scripts/stryker-cover-all.cjs', '{{testFile}}'],
    forceBail: true,
  },
  mutate: process.env.MUTATE_FILES?.split(',') ?? groups.flatMap((g) => g.mutate),
  // The CLI tests run dist/: it is compiled from the instrumented sources, and the CLI children
  // receive the active mutant through their environment (test/helpers/cli.ts).
  buildCommand: 'npx tsc -p .',
  // Mutants reached only inside a CLI child are not seen by per-test coverage.
  coverageAnalysis: 'off',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 60_000,
  ignorePatterns: ['dist', 'bench/results', 'reports', '.stryker-tmp'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${report}.html` },
  jsonReporter: { fileName: `${report}.json` },
  thresholds: { high: 90, low: 75, break: null },
};
