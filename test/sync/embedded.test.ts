/** Each sync job from the CLI against the replica on the embedded PostgreSQL (no DATABASE_URL). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDatabase } from '../../src/db/connection.js';
import { startEmbedded } from '../../src/db/embedded.js';
import { cliEnv, logLines, runCli } from '../helpers/cli.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

let replica: TestReplica;
let dataDir: string;

before(async () => {
  replica = await startTestReplica();
  // The directory itself is the data directory: as root the server runs as "postgres" and must reach it.
  dataDir = mkdtempSync(join(tmpdir(), 'defi-sync-embedded-sync-'));
});
after(async () => {
  await replica.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('sync-chains, sync-protocols and sync-pools run on the embedded PostgreSQL and keep their data for the next run', async () => {
  const env = cliEnv({ DEFI_SYNC_DATA_DIR: dataDir, ...replica.env() });
  for (const job of ['sync-chains', 'sync-protocols', 'sync-pools']) {
    const r = await runCli([job], env);
    assert.equal(r.code, 0, `${job}: ${r.stderr}${r.stdout}`);
    const done = logLines(r.stdout).find((l) => l.msg === `${job} succeeded`);
    assert.ok(done, `${job} logged its result`);
    assert.ok((done.created as number) > 0, `${job} created rows`);
    assert.ok(logLines(r.stdout).some((l) => /embedded PostgreSQL/.test(String(l.msg))), 'it used the embedded server');
  }
  const again = await runCli(['sync-pools'], env);
  assert.equal(again.code, 0, again.stderr);
  const rerun = logLines(again.stdout).find((l) => l.msg === 'sync-pools succeeded')!;
  assert.deepEqual([rerun.created, rerun.updated, rerun.unchanged], [0, 0, rerun.processed], 'the second run sees the first run\'s rows');

  const server = await startEmbedded(dataDir);
  const database = openDatabase(server.url, 'defi-sync-test');
  try {
    const pools = await replica.get<{ data: unknown[] }>('/pools');
    const n = await database.db.one('SELECT (SELECT count(*) FROM pools) AS pools, (SELECT count(*) FROM protocols) AS protocols, (SELECT count(*) FROM chains) AS chains');
    assert.equal(n.pools, pools.data.length);
    assert.ok(n.protocols > 0 && n.chains > 0);
    const runs = await database.db.manyOrNone(`SELECT job_name, status FROM sync_jobs ORDER BY id`);
    assert.deepEqual(runs.map((r) => `${r.job_name}:${r.status}`), ['sync-chains:succeeded', 'sync-protocols:succeeded', 'sync-pools:succeeded', 'sync-pools:succeeded']);
  } finally {
    await database.close();
    await server.release();
  }
});
