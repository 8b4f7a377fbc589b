import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, chartValues, cronPod, one, render, RELEASE, template } from './helm.js';

test('zero and false values survive rendering (values file)', () => {
  const objs = render({
    values: {
      jobDefaults: { backoffLimit: 0, successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0, suspend: false, ttlSecondsAfterFinished: 0 },
      jobs: { 'sync-pools': { terminationGracePeriodSeconds: 0 } },
    },
  });
  const cj = one(objs, 'CronJob', `${RELEASE}-sync-pools`);
  assert.equal(cj.spec.successfulJobsHistoryLimit, 0);
  assert.equal(cj.spec.failedJobsHistoryLimit, 0);
  assert.equal(cj.spec.suspend, false);
  assert.equal(cj.spec.jobTemplate.spec.backoffLimit, 0);
  assert.equal(cj.spec.jobTemplate.spec.ttlSecondsAfterFinished, 0);
  assert.equal(cronPod(cj).terminationGracePeriodSeconds, 0);
});

test('a per-job zero overrides a non-zero default', () => {
  const objs = render({
    values: {
      jobs: {
        'sync-pools': { backoffLimit: 0, successfulJobsHistoryLimit: 0, suspend: true },
        'sync-chains': { securityContext: { readOnlyRootFilesystem: false } },
      },
    },
  });
  const pools = one(objs, 'CronJob', `${RELEASE}-sync-pools`);
  assert.equal(pools.spec.jobTemplate.spec.backoffLimit, 0);
  assert.equal(pools.spec.successfulJobsHistoryLimit, 0);
  assert.equal(pools.spec.suspend, true);
  const chains = one(objs, 'CronJob', `${RELEASE}-sync-chains`);
  assert.equal(chains.spec.jobTemplate.spec.backoffLimit, 3);
  // Maps merge key by key: the rest of the security context stays.
  const sc = cronPod(chains).containers[0].securityContext;
  assert.equal(sc.readOnlyRootFilesystem, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
});

test('zero values survive --set (integers typed by Helm, not by a values file)', () => {
  const objs = render({ set: ['jobs.sync-pools.backoffLimit=0', 'jobDefaults.successfulJobsHistoryLimit=0', 'jobs.sync-pools.suspend=false'] });
  const cj = one(objs, 'CronJob', `${RELEASE}-sync-pools`);
  assert.equal(cj.spec.jobTemplate.spec.backoffLimit, 0);
  assert.equal(cj.spec.successfulJobsHistoryLimit, 0);
  assert.equal(cj.spec.suspend, false);
});

test('null leaves a field out, so the API default applies', () => {
  const objs = render({ set: ['jobDefaults.activeDeadlineSeconds=null'] });
  assert.equal('activeDeadlineSeconds' in one(objs, 'CronJob', `${RELEASE}-sync-pools`).spec.jobTemplate.spec, false);
});

test('large numbers keep integer form (no 1e+06)', () => {
  const objs = render({
    values: {
      config: { MAX_RESPONSE_BYTES: 524288000, API_RATE_LIMIT_MS: 0, MAX_DEACTIVATE_SHARE: 0.25 },
      jobDefaults: { activeDeadlineSeconds: 1000000 },
      priorityClasses: { enabled: true, classes: { immediate: { value: 1000000 } } },
    },
  });
  const data = one(objs, 'ConfigMap', `${RELEASE}-config`).data;
  assert.equal(data.MAX_RESPONSE_BYTES, '524288000');
  assert.equal(data.API_RATE_LIMIT_MS, '0');
  assert.equal(data.MAX_DEACTIVATE_SHARE, '0.25');
  assert.equal(one(objs, 'CronJob', `${RELEASE}-sync-pools`).spec.jobTemplate.spec.activeDeadlineSeconds, 1000000);
  assert.equal(one(objs, 'PriorityClass', `${RELEASE}-immediate`).value, 1000000);
});

test('the schema rejects unknown keys and bad values', () => {
  const bad: Record<string, unknown>[] = [
    { jobs: { 'sync-pools': { backoffLimt: 1 } } },
    { jobDefaults: { schedule: '0 0 * * *' } },
    { jobs: { 'sync-pools': { priority: 'urgent' } } },
    { jobs: { 'new-job': { schedule: '0 0 * * *' } } },
    { jobs: { 'sync-pools': { concurrencyPolicy: 'Sometimes' } } },
    { jobs: { 'sync-pools': { startingDeadlineSeconds: 5 } } },
    { jobs: { 'sync-pools': { backoffLimit: -1 } } },
    { config: { DATABASE_URL: 'postgres://x' } },
    { secret: { values: { DATABASE_URL: 'postgres://x', OTHER: 'y' } } },
    { imageTag: '1' },
  ];
  for (const values of bad) {
    const r = template({ values });
    assert.notEqual(r.status, 0, `accepted ${JSON.stringify(values)}`);
    assert.match(r.stderr, /schema/, JSON.stringify(values));
  }
});

test('the schema refuses what the API server would refuse', () => {
  const refused: Record<string, unknown>[] = [
    // Cron expressions the CronJob controller cannot parse.
    { jobs: { 'sync-pools': { schedule: '0 3 * *' } } },
    { jobs: { 'sync-pools': { schedule: '0 3 * * * *' } } },
    { jobs: { 'sync-pools': { schedule: '61 3 * * *' } } },
    { jobs: { 'sync-pools': { schedule: '0 24 * * *' } } },
    { jobs: { 'sync-pools': { schedule: '0 3 32 * *' } } },
    { jobs: { 'sync-pools': { schedule: '0 3 * 13 *' } } },
    { jobs: { 'sync-pools': { schedule: '0 3 * * 8' } } },
    { jobs: { 'sync-pools': { schedule: 'daily' } } },
    { jobs: { 'sync-pools': { schedule: '@fortnightly' } } },
    // A pod failure policy needs restartPolicy Never.
    { jobs: { 'sync-pools': { restartPolicy: 'OnFailure', podFailurePolicy: { rules: [] } } } },
    { jobDefaults: { restartPolicy: 'OnFailure' } },
    // maxFailedIndexes needs backoffLimitPerIndex.
    { jobs: { 'sync-historical': { indexed: { enabled: true, backoffLimitPerIndex: null, maxFailedIndexes: 1 } } } },
  ];
  for (const values of refused) {
    const r = template({ values });
    assert.notEqual(r.status, 0, `accepted ${JSON.stringify(values)}`);
    assert.match(r.stderr, /schema/, JSON.stringify(values));
  }
  const accepted: Record<string, unknown>[] = [
    { jobs: { 'sync-pools': { schedule: '*/15 1-5,22 1,15 JAN-jun mon-FRI' } } },
    { jobs: { 'sync-pools': { schedule: '@daily' } } },
    { jobs: { 'sync-pools': { schedule: '0 0 ? * 0' } } },
    { jobs: { 'sync-pools': { restartPolicy: 'OnFailure', podFailurePolicy: null } } },
    { jobDefaults: { restartPolicy: 'OnFailure', podFailurePolicy: null } },
    { jobs: { 'sync-historical': { indexed: { enabled: true, backoffLimitPerIndex: 1, maxFailedIndexes: 1 } } } },
  ];
  for (const values of accepted) {
    const r = template({ values });
    assert.equal(r.status, 0, `${JSON.stringify(values)}: ${r.stderr}`);
  }
  // The same combinations split between jobDefaults and a job are caught after merging.
  let r = template({ values: { jobs: { 'sync-pools': { restartPolicy: 'OnFailure' } } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /jobs\.sync-pools: podFailurePolicy needs restartPolicy Never; with OnFailure set podFailurePolicy: null/);
  r = template({ values: { jobDefaults: { restartPolicy: 'OnFailure', podFailurePolicy: null }, jobs: { 'sync-pools': { podFailurePolicy: { rules: [] } } } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /jobs\.sync-pools: podFailurePolicy needs restartPolicy Never/);
  r = template({ values: { jobDefaults: { indexed: { backoffLimitPerIndex: 1, maxFailedIndexes: 1 } }, jobs: { 'backfill': { command: 'sync-historical', schedule: '0 8 * * 6', priority: 'low', indexed: { enabled: true, completions: 2, backoffLimitPerIndex: null } } } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /maxFailedIndexes needs backoffLimitPerIndex/);
});

test('the schema is self-contained and strict', () => {
  const text = readFileSync(join(CHART, 'values.schema.json'), 'utf8');
  for (const ref of text.matchAll(/"\$ref":\s*"([^"]+)"/g)) assert.ok(ref[1]!.startsWith('#/'), `remote $ref ${ref[1]}`);
  const schema = JSON.parse(text);
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.definitions.jobSettings.additionalProperties, false);
});

type Schema = { $ref?: string; allOf?: Schema[]; properties?: Record<string, Schema> };

/** Leaf value paths of values.yaml: keys of the chart's own objects, down to free-form ones. */
function leafPaths(schema: Schema, node: unknown, prefix: string, defs: Record<string, Schema>, out: string[]): void {
  const resolve = (x: Schema): Schema => (x.$ref ? defs[x.$ref.replace('#/definitions/', '')]! : x);
  let s = resolve(schema);
  if (s.allOf) s = s.allOf.map(resolve).find((x) => x.properties) ?? s;
  if (!s.properties || typeof node !== 'object' || node === null || Array.isArray(node)) {
    out.push(prefix);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (s.properties[key]) leafPaths(s.properties[key], value, prefix ? `${prefix}.${key}` : key, defs, out);
  }
}

test('README documents every value in values.yaml', () => {
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
  const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
  const values = chartValues() as { jobs: Record<string, unknown>; jobDefaults: Record<string, unknown> };
  const { jobs, ...rest } = values;
  const paths: string[] = [];
  leafPaths(schema, rest, '', schema.definitions, paths);
  for (const [name, job] of Object.entries(jobs)) {
    paths.push(`jobs.${name}`);
    leafPaths(schema.definitions.jobSettings, job, 'jobs.<name>', schema.definitions, paths);
  }
  const documented = (p: string): boolean => {
    // A jobDefaults key set on one job is documented once, under jobDefaults.
    const inherited = /^jobs\.<name>\.([^.]+)$/.exec(p);
    if (inherited && inherited[1]! in values.jobDefaults) return readme.includes(`\`jobDefaults.${inherited[1]}\``);
    return readme.includes(`\`${p}\``);
  };
  const missing = [...new Set(paths)].filter((p) => !documented(p));
  assert.ok(paths.length > 80, `only ${paths.length} value paths found`);
  assert.deepEqual(missing, [], 'values missing from helm/defi-sync/README.md');
});

test('the chart appVersion (default image tag) is the package version', () => {
  const chart = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
  const pkg = JSON.parse(readFileSync(join(CHART, '..', '..', 'package.json'), 'utf8')) as { version: string };
  assert.match(chart, new RegExp(`^appVersion: "${pkg.version.replace(/\./g, '\\.')}"$`, 'm'));
});
