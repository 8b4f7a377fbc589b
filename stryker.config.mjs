// Mutation testing of the modules that carry the promises: one transaction per write, the locks,
// run tracking, redaction, the HTTP client and the contract mappings' writes. `make mutate` runs it
// (slow: every surviving mutant costs a run of the test files below). MUTATE_TESTS (comma-separated
// test files) narrows the test files, for a run over a few modules.
const tests = process.env.MUTATE_TESTS?.split(',') ?? [
  'test/sync/bulk-sync.test.ts',
  'test/integrity/last-statement-syncs.test.ts',
  'test/integrity/last-statement-jobs.test.ts',
  'test/integrity/secrets.test.ts',
  'test/runs/run-tracking.test.ts',
  'test/defillama/client.test.ts',
  'test/foundation/redact.test.ts',
  'test/defillama/redaction.test.ts',
  'test/foundation/logging.test.ts',
  'test/contracts/build-mappings.test.ts',
  'test/contracts/map-contracts.test.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: {
    testFiles: tests,
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '-r', './scripts/stryker-cover-all.cjs', '{{testFile}}'],
    forceBail: true,
  },
  mutate: ['src/db/bulk-sync.ts', 'src/db/locks.ts', 'src/runs/*.ts', 'src/redact.ts', 'src/defillama/client.ts', 'src/defillama/http.ts', 'src/contracts/store.ts'],
  // The CLI tests run dist/: it is compiled from the instrumented sources, and the CLI children
  // receive the active mutant through their environment (test/helpers/cli.ts).
  buildCommand: 'npx tsc -p .',
  // Mutants reached only inside a CLI child are not seen by per-test coverage.
  coverageAnalysis: 'off',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 60_000,
  ignorePatterns: ['dist', 'bench/results', 'reports', '.stryker-tmp'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  thresholds: { high: 90, low: 75, break: null },
};
