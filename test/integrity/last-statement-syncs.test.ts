/**
 * The three current-state syncs write in one transaction: a failure of the LAST statement they
 * issue (the UPDATE that deactivates rows the source no longer lists, after the merge) leaves every
 * table as it was. Each test has its own database:
 * a first load, then hand-made differences so that the next run creates, updates and deactivates.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cliEnv, runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { failWhen, lastRunId, snapshotTables } from '../helpers/tables.js';

const replicas: TestReplica[] = [];
const databases: TestDatabase[] = [];
after(async () => {
  await Promise.all([...replicas.map((r) => r.close()), ...databases.map((d) => d.drop())]);
});

const SYNCS = [
  { job: 'sync-chains', table: 'chains', key: 'name', extra: {} },
  { job: 'sync-protocols', table: 'protocols', key: 'id', extra: { slug: 'gone-protocol' } },
  { job: 'sync-pools', table: 'pools', key: 'pool_id', extra: {} },
] as const;

let replica: TestReplica;
before(async () => {
  replica = await startTestReplica();
  replicas.push(replica);
});

for (const s of SYNCS) {
  test(`${s.job}: a failure of its last statement (the deactivating UPDATE) leaves every table unchanged`, async () => {
    const t = await createTestDatabase();
    databases.push(t);
    const env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', ...replica.env() });
    const first = await runCli([s.job], env);
    assert.equal(first.code, 0, `first load: ${first.stderr}`);
    // A row the source does not list (the next run deactivates it), a row whose values differ from
    // the source's (updated by the merge) and a missing one (created by the merge).
    await t.db.none(
      `INSERT INTO $1:name SELECT (jsonb_populate_record(NULL::$1:name, to_jsonb(x) || $2::jsonb)).* FROM $1:name x ORDER BY $3:name LIMIT 1`,
      [s.table, JSON.stringify({ [s.key]: `gone-${s.table}`, ...s.extra }), s.key],
    );
    await t.db.none(`UPDATE $1:name SET updated_at = updated_at - interval '1 day', raw = '{}' WHERE $2:name = (SELECT max($2:name) FROM $1:name WHERE $2:name <> $3)`, [
      s.table,
      s.key,
      `gone-${s.table}`,
    ]);
    await t.db.none(`DELETE FROM $1:name WHERE $2:name = (SELECT min($2:name) FROM $1:name)`, [s.table, s.key]);

    const runsBefore = await lastRunId(t.db);
    const before = await snapshotTables(t.db, runsBefore);
    const restore = await failWhen(t.db, s.table, 'UPDATE', 'OLD.is_active AND NOT NEW.is_active');
    const failed = await runCli([s.job], env);
    await restore();
    assert.equal(failed.code, 1, `${s.job} fails: ${failed.stderr}`);
    assert.match(failed.stderr, /injected failure/);
    assert.deepEqual(await snapshotTables(t.db, runsBefore), before, 'every table as before');
    const run = await t.db.one('SELECT status FROM sync_jobs WHERE id > $1', [runsBefore]);
    assert.equal(run.status, 'failed');

    // The same run without the failure creates, updates and deactivates: the failure hit the
    // statement that deactivates, after the merge had written.
    const ok = await runCli([s.job], env);
    assert.equal(ok.code, 0, ok.stderr);
    const done = await t.db.one('SELECT records_created, records_updated, records_deactivated FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1', [s.job]);
    assert.ok(done.records_created >= 1 && done.records_updated >= 1 && done.records_deactivated >= 1, JSON.stringify(done));
  });
}
