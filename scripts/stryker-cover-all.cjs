// Loaded after Stryker's TAP hook in each test process (stryker.config.mjs). The CLI tests reach
// most mutants in a child process, whose coverage Stryker never sees; marking every mutant as
// statically covered during the initial run makes Stryker run every test file against every
// mutant, as coverageAnalysis "off" would (the TAP runner reports coverage regardless).
if (process.env.STRYKER_DRY_RUN === 'true') {
  const ns = globalThis[process.env.STRYKER_NAMESPACE ?? '__stryker__'];
  const all = {};
  for (let id = 0; id < 20000; id++) all[id] = 1;
  if (ns) ns.mutantCoverage = { static: all, perTest: {} };
}
