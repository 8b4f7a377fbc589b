/**
 * Regenerates the parts of the documentation that are derived from the code, between
 * <!-- name:start/end --> markers: the jobs table in README.md (from the registry) and the
 * settings table in docs/configuration.md (from SETTINGS). `--check` fails when one is stale.
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

/** Which generated table lives in which file. */
export const GENERATED: readonly { file: string; blocks: readonly (readonly [string, () => string])[] }[] = [
  { file: 'README.md', blocks: [['jobs', jobsTable]] },
  { file: join('docs', 'configuration.md'), blocks: [['settings', settingsTable]] },
];

export function renderGenerated(file: string, current: string, blocks: readonly (readonly [string, () => string])[]): string {
  let out = current;
  for (const [name, body] of blocks) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`${file} has no <!-- ${name}:start --> ... <!-- ${name}:end --> block`);
    out = out.replace(re, `$1\n${body()}\n$2`);
  }
  return out;
}

if (process.argv[1]?.endsWith('build-docs.ts')) {
  let stale = false;
  for (const { file, blocks } of GENERATED) {
    const path = join(packageRoot(), file);
    const current = readFileSync(path, 'utf8');
    const rendered = renderGenerated(file, current, blocks);
    if (process.argv.includes('--check')) {
      if (rendered !== current) {
        console.error(`${file}: generated tables are stale: run "npm run docs" and commit the result`);
        stale = true;
      }
    } else if (rendered !== current) {
      writeFileSync(path, rendered);
      console.log(`updated ${file}`);
    }
  }
  if (stale) process.exit(1);
  if (process.argv.includes('--check')) console.log('generated documentation tables are up to date');
}
