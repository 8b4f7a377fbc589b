/**
 * Benchmark of the DeFiLlama client and the replica at benchmark size:
 * - the client fetching, parsing and validating /pools, in its own process (bench/client-fetch.ts)
 *   so that its peak RSS is the client's alone: best of three, targets 2 s and 300 MB;
 * - the replica building day 0 of /pools from nothing (records and JSON), target 2 s.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Dataset } from '../replica/dataset.js';
import { atMost, round, type BenchEnv, type BenchPass, type BenchStep, type BenchStepResult } from './step.js';

interface FetchFigures {
  records: number;
  rejected: number;
  ms: number;
  cpuMs: number;
  peakRssMb: number;
}

function fetchOnce(url: string, route: string): Promise<FetchFigures> {
  const script = join(process.cwd(), 'dist', 'bench', 'client-fetch.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, route], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`client-fetch exited ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as FetchFigures);
    });
  });
}

export const defillamaClientStep: BenchStep = {
  name: 'defillama-client',
  async run(env: BenchEnv): Promise<BenchStepResult> {
    env.replica.day = 0;
    env.replica.warm();
    const passes: BenchPass[] = [];
    const runs: FetchFigures[] = [];
    for (let i = 1; i <= 3; i++) {
      const f = await fetchOnce(env.replica.url, 'pools');
      if (f.rejected !== 0) throw new Error(`the client rejected ${f.rejected} replica records`);
      runs.push(f);
      passes.push({ label: `/pools #${i}`, wallS: round(f.ms / 1000), rows: f.records, rowsPerS: Math.round(f.records / (f.ms / 1000)), peakRssMb: f.peakRssMb, phasesMs: { cpu: f.cpuMs } });
    }
    const best = Math.min(...runs.map((r) => r.ms));
    const peak = Math.max(...runs.map((r) => r.peakRssMb));

    // A fresh dataset, so the figure includes building every pool from its seed.
    const t0 = performance.now();
    const dataset = new Dataset({ seed: 2025, ...env.sizes, historyDays: 30, startDate: '2025-03-01' });
    const json = JSON.stringify({ status: 'success', data: dataset.poolsRecords(0) });
    const buildMs = Math.round(performance.now() - t0);

    return {
      name: 'defillama-client',
      passes,
      figures: { fetchParseValidateBestMs: best, clientPeakRssMb: peak, replicaPoolsBuildMs: buildMs, poolsMegabytes: round(json.length / 1e6, 1) },
      targets: [
        atMost('/pools fetched, parsed and validated (best of 3)', round(best / 1000), 2, 's'),
        atMost('client peak RSS', peak, 300, 'MB'),
        atMost('replica builds /pools for day 0', round(buildMs / 1000), 2, 's'),
      ],
    };
  },
};
