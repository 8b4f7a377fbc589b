/**
 * `npm run bench`: runs each benchmark step against the offline replica at benchmark size and a
 * fresh database per step, prints the figures and writes them to bench/results/latest.json.
 *
 *   npm run bench [-- --pools 50000 --protocols 8000 --chains 400 --only sync-pools]
 *
 * PostgreSQL: BENCH_DATABASE_URL (a server where databases may be created), else an embedded one.
 * To add a benchmark: write a BenchStep (bench/step.ts) and add it to STEPS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initLogger } from '../src/logger.js';
import { openHarness } from './harness.js';
import { round, type BenchStep, type BenchStepResult } from './step.js';
import { syncChainsStep, syncPoolsStep, syncProtocolsStep } from './sync-steps.js';
import { createSnapshotsStep } from './create-snapshots.js';
import { defillamaClientStep } from './defillama-client.js';
import { mapContractsStep } from './map-contracts.js';

const STEPS: readonly BenchStep[] = [defillamaClientStep, syncChainsStep, syncProtocolsStep, syncPoolsStep, mapContractsStep, createSnapshotsStep];

const { values } = parseArgs({
  options: {
    pools: { type: 'string', default: '50000' },
    protocols: { type: 'string', default: '8000' },
    chains: { type: 'string', default: '400' },
    only: { type: 'string', multiple: true },
  },
});
const sizes = { pools: Number(values.pools), protocols: Number(values.protocols), chains: Number(values.chains) };
const steps = values.only?.length ? STEPS.filter((s) => values.only!.includes(s.name)) : STEPS;
if (steps.length === 0) throw new Error(`--only must name a step: ${STEPS.map((s) => s.name).join(', ')}`);

initLogger({ logLevel: 'warn', logDir: undefined }, false);
const log = (line: string) => console.log(line);
// The machine may be shared: its load is part of what the figures mean.
const loadBefore = loadavg().map((x) => round(x));
log(`load average: ${loadBefore.join(' ')} (${cpus().length} CPUs)`);
const harness = await openHarness(sizes, log);
const results: BenchStepResult[] = [];
try {
  for (const step of steps) {
    log(`\n${step.name}`);
    const result = await step.run(harness);
    results.push(result);
    log(render(result));
  }
} finally {
  await harness.close();
}

const missed = results.flatMap((r) => r.targets.filter((t) => !t.ok).map((t) => `${r.name}: ${t.what}`));
const report = {
  finishedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 1e9), node: process.version, postgres: harness.postgresVersion, loadBefore, loadAfter: loadavg().map((x) => round(x)) },
  sizes,
  steps: results,
  missed,
};
const dir = join(process.cwd(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
log(`\n${missed.length === 0 ? 'all targets met' : `targets missed: ${missed.join('; ')}`}\nwrote bench/results/latest.json`);
process.exitCode = missed.length === 0 ? 0 : 1;

function render(r: BenchStepResult): string {
  const lines = r.passes.map(
    (p) =>
      `  ${p.label.padEnd(11)} ${p.jobS === undefined ? '' : `job ${p.jobS.toFixed(2).padStart(6)} s, `}process ${p.wallS.toFixed(2).padStart(6)} s  ${String(p.rows).padStart(6)} rows  ${String(p.rowsPerS).padStart(7)} rows/s  ` +
      `peak RSS ${p.peakRssMb ?? '?'} MB  ${Object.entries(p.counts ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}` +
      (p.phasesMs && Object.keys(p.phasesMs).length ? `\n${' '.repeat(14)}phases ms: ${Object.entries(p.phasesMs).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''),
  );
  for (const [k, v] of Object.entries(r.figures)) lines.push(`  ${k}: ${v}`);
  for (const t of r.targets) lines.push(`  ${t.ok ? 'ok  ' : 'MISS'} ${t.what}: ${t.actual ?? '?'} ${t.unit} (target <= ${t.limit} ${t.unit})`);
  return lines.join('\n');
}
