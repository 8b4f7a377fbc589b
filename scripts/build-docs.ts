/**
 * Regenerates the parts of README.md that are derived from the code: the configuration table
 * (from SETTINGS) and the jobs table (from the registry), between <!-- name:start/end --> markers.
 * `--check` fails when README.md is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../src/config.js';
import { JOBS } from '../src/jobs/registry.js';
import { packageRoot } from '../src/paths.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function settingsTable(): string {
  const rows = SETTINGS.map((s) => `| \`${s.env}\` | ${s.default ? `\`${s.default}\`` : s.secret ? '(secret)' : '(unset)'} | ${cell(s.description)} |`);
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows,
    '| `SCHEDULE_<JOB>` | the registry\'s | Local scheduler: a five-field cron (UTC) for one job, e.g. `SCHEDULE_SYNC_POOLS="30 3 * * *"`; `off` disables it. |',
    '| `RPC_URL_<CHAINKEY>` | (secret) | JSON-RPC endpoint for on-chain verification on that chain, e.g. `RPC_URL_ETHEREUM`. |'].join('\n');
}

export function jobsTable(): string {
  const rows = JOBS.map((j) => `| \`${j.name}\` | \`${j.schedule}\` | ${j.priority} | ${cell(j.description)} | ${(j.options ?? []).map((o) => `\`${o.flags}\``).join(', ') || '-'} |`);
  return ['| Job | Schedule (UTC) | Priority | What it does | Options |', '|---|---|---|---|---|', ...rows].join('\n');
}

export function renderReadme(current: string): string {
  let out = current;
  for (const [name, body] of [['settings', settingsTable()], ['jobs', jobsTable()]] as const) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`README.md has no <!-- ${name}:start --> ... <!-- ${name}:end --> block`);
    out = out.replace(re, `$1\n${body}\n$2`);
  }
  return out;
}

if (process.argv[1]?.endsWith('build-docs.ts')) {
  const file = join(packageRoot(), 'README.md');
  const current = readFileSync(file, 'utf8');
  const rendered = renderReadme(current);
  if (process.argv.includes('--check')) {
    if (rendered !== current) {
      console.error('README.md tables are stale: run "npm run docs" and commit the result');
      process.exit(1);
    }
    console.log('README.md tables are up to date');
  } else {
    writeFileSync(file, rendered);
    console.log(`updated ${file}`);
  }
}
