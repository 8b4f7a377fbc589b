import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { getAddress } from 'viem';
import { parseFaultSpec } from '../../replica/faults.js';
import { control, startTestReplica, withReplica, type TestReplica } from '../helpers/replica.js';

type Rec = Record<string, unknown>;
type Envelope = { status: string; data: Rec[] };

let replica: TestReplica;
let pools: Rec[];
let poolsOld: Rec[];
let protocols: Rec[];
let chains: Rec[];
before(async () => {
  replica = await startTestReplica();
  pools = (await replica.get<Envelope>('/pools')).data;
  poolsOld = (await replica.get<Envelope>('/poolsOld')).data;
  protocols = await replica.get<Rec[]>('/protocols');
  chains = await replica.get<Rec[]>('/v2/chains');
});
after(async () => {
  await replica.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
const tokensOf = (p: Rec): string[] => [...((p.underlyingTokens as string[] | null) ?? []), ...((p.rewardTokens as string[] | null) ?? [])];

test('the same seed gives the same data; another seed gives other data', async () => {
  await withReplica({}, async (twin) => {
    for (const path of ['/pools', '/poolsOld', '/protocols', '/v2/chains']) {
      assert.deepEqual(await twin.get(path), await replica.get(path), path);
    }
    const id = pools[3]!.pool as string;
    assert.deepEqual(await twin.get(`/chart/${id}`), await replica.get(`/chart/${id}`));
    const slug = protocols.find((p) => typeof p.tvl === 'number')!.slug as string;
    assert.deepEqual(await twin.get(`/protocol/${slug}`), await replica.get(`/protocol/${slug}`));
  });
  await withReplica({ seed: 8 }, async (other) => {
    const otherPools = (await other.get<Envelope>('/pools')).data;
    assert.equal(otherPools.length, pools.length);
    assert.notDeepEqual(otherPools.map((p) => p.pool), pools.map((p) => p.pool));
  });
});

test('sizes follow the options', () => {
  assert.equal(pools.length, 300);
  assert.equal(poolsOld.length, 300);
  assert.equal(protocols.length, 80);
  assert.equal(chains.length, 40);
  assert.equal(new Set(pools.map((p) => p.pool)).size, 300);
  assert.equal(new Set(protocols.map((p) => p.slug)).size, 80);
  assert.equal(new Set(protocols.map((p) => p.id)).size, 80);
});

test('pools carry the real quirks', () => {
  assert.ok(pools.every((p) => typeof p.pool === 'string' && UUID.test(p.pool)), 'UUID pool ids');
  assert.ok(pools.some((p) => !('apyBase7d' in p)) && pools.some((p) => p.apyBase7d === null), 'omitted keys and explicit nulls');
  assert.ok(pools.some((p) => p.rewardTokens === null) && pools.some((p) => Array.isArray(p.rewardTokens)), 'token arrays null when empty');
  assert.ok(pools.some((p) => p.underlyingTokens === null));
  const evm = pools.flatMap(tokensOf).filter((t) => /^0x[0-9a-fA-F]{40}$/.test(t));
  assert.ok(evm.some((t) => t !== t.toLowerCase() && getAddress(t) === t), 'EIP-55 checksummed addresses');
  assert.ok(evm.some((t) => t === t.toLowerCase() && t !== '0x0000000000000000000000000000000000000000'), 'lower-case addresses');
  assert.ok(evm.includes('0x0000000000000000000000000000000000000000'), 'zero-address sentinel');
  assert.ok(evm.includes('0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE'), '0xEeee sentinel');
  const on = (chain: string) => pools.filter((p) => p.chain === chain).flatMap(tokensOf);
  assert.ok(on('Solana').some((t) => BASE58.test(t) && t.length >= 32), 'Solana base58');
  assert.ok(on('Tron').some((t) => /^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(t)), 'Tron base58');
  assert.ok(on('TON').some((t) => /^EQ[A-Za-z0-9_-]{46}$/.test(t)), 'TON');
  assert.ok(on('Aptos').includes('0x1::aptos_coin::AptosCoin'), 'Move types');
  assert.ok(pools.some((p) => (p.apy as number) > 10_000), 'APY above 10,000');
  const slugs = new Set(protocols.map((p) => p.slug));
  assert.ok(pools.some((p) => !slugs.has(p.project as string)), 'a project with pools but no protocol entry');
  assert.ok(pools.some((p) => p.predictions === null) && pools.some((p) => typeof p.predictions === 'object' && p.predictions !== null));
  assert.ok(pools.every((p) => Number.isInteger(p.tvlUsd)), 'tvlUsd is an integer');
});

test('/poolsOld adds pool_old in its three shapes, poolTokenAddress, url and timestamp', () => {
  const keys = poolsOld.map((p) => String(p.pool_old));
  assert.ok(keys.some((k) => /^0x[0-9a-fA-F]{40}$/.test(k)), 'bare address');
  assert.ok(keys.some((k) => /^0x[0-9a-fA-F]{40}-[a-z0-9_]+$/.test(k)), '<address>-<chainkey>');
  assert.ok(keys.some((k) => /^[a-z0-9_]+-0x[0-9a-fA-F]{40}$/.test(k)), '<chainkey>-<address>');
  assert.ok(keys.some((k) => /[A-F]/.test(k) && /0x[0-9a-fA-F]{40}/.test(k)), 'mixed case');
  assert.ok(poolsOld.some((p) => typeof p.poolTokenAddress === 'string'));
  assert.ok(poolsOld.every((p) => typeof p.timestamp === 'string'));
  assert.deepEqual(poolsOld.map((p) => p.pool), pools.map((p) => p.pool), 'the same pools as /pools');
});

test('protocols and chains carry the real quirks', () => {
  const keys = protocols.flatMap((p) => Object.keys((p.chainTvls as Rec) ?? {}));
  assert.ok(keys.some((k) => /^[A-Za-z0-9 ]+-staking$/.test(k)), '<Chain>-staking');
  assert.ok(keys.includes('staking'), 'bare staking');
  assert.ok(protocols.flatMap((p) => p.chains as string[]).some((c) => c.includes(' ')), 'chain labels with spaces');
  assert.ok(protocols.some((p) => typeof p.deadFrom === 'number'), 'deadFrom as an integer');
  assert.ok(protocols.some((p) => typeof p.deadFrom === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(p.deadFrom)), 'deadFrom as a date string');
  assert.ok(protocols.some((p) => typeof p.methodology === 'boolean'), 'methodology as a boolean');
  assert.ok(protocols.some((p) => typeof p.audits === 'string') && protocols.some((p) => typeof p.audits === 'number'));
  assert.ok(protocols.some((p) => (p.chains as string[]).length === 0 && !('chain' in p)), 'no chains, no chain field');
  assert.ok(protocols.some((p) => p.chain === 'Multi-Chain'));
  assert.ok(protocols.some((p) => typeof p.address === 'string' && /^[a-z0-9_]+:/.test(p.address)), '<chainkey>:<address>');
  assert.ok(protocols.some((p) => p.address === null));
  assert.ok(protocols.some((p) => typeof p.parentProtocol === 'string' && p.parentProtocol.startsWith('parent#')));
  assert.ok(chains.some((c) => typeof c.chainId === 'string'), 'a string chain id');
  assert.ok(chains.some((c) => c.chainId === 0), 'a 0 chain id');
  assert.ok(chains.some((c) => c.chainId === null));
  assert.equal(chains[0]!.name, 'Ethereum');
});

test('history routes are consistent daily series that end at the live values', async () => {
  await withReplica({ historyDays: 400 }, async (r) => {
    const live = (await r.get<Envelope>('/pools')).data;
    const pool = live.find((p) => p.pool === pools[0]!.pool)!;
    const points = (await r.get<Envelope>(`/chart/${pool.pool}`)).data;
    assert.ok(points.length > 90);
    const dates = points.map((p) => String(p.timestamp).slice(0, 10));
    for (let i = 1; i < dates.length; i++) {
      assert.equal(Date.parse(dates[i]!) - Date.parse(dates[i - 1]!), 86_400_000, 'one point per UTC day, ascending');
    }
    assert.ok(points.some((p) => String(p.timestamp).endsWith('T00:00:00.000Z')), 'old points at midnight');
    assert.ok(points.slice(-30, -1).every((p) => /T23:\d{2}:\d{2}\.\d{3}Z$/.test(String(p.timestamp))), 'recent points at the last hourly sample');
    const last = points.at(-1)!;
    assert.equal(String(last.timestamp).slice(0, 10), r.date);
    assert.equal(last.tvlUsd, pool.tvlUsd);
    assert.equal(last.apy, pool.apy);

    const list = await r.get<Rec[]>('/protocols');
    const p = list.find((x) => typeof x.tvl === 'number' && (x.chains as string[]).length > 1)!;
    const detail = await r.get<Rec>(`/protocol/${p.slug}`);
    const tvl = detail.tvl as { date: number; totalLiquidityUSD: number }[];
    assert.ok(tvl.slice(0, -1).every((x) => x.date % 86_400 === 0), 'daily at midnight UTC');
    assert.notEqual(tvl.at(-1)!.date % 86_400, 0, 'plus one intra-day point');
    assert.ok(Math.abs(tvl.at(-1)!.totalLiquidityUSD - (p.tvl as number)) < 0.01);
    const current = detail.currentChainTvls as Record<string, number>;
    assert.deepEqual(Object.keys(current).sort(), Object.keys(p.chainTvls as Rec).sort());
    const sections = detail.chainTvls as Record<string, { tvl: { date: number; totalLiquidityUSD: number }[] }>;
    for (const [k, v] of Object.entries(current)) assert.ok(Math.abs(sections[k]!.tvl.at(-1)!.totalLiquidityUSD - v) < 0.01, k);
  });
});

test('a parent slug answers an aggregate of its children; unknown slugs and ids answer like the API', async () => {
  const child = protocols.find((p) => typeof p.parentProtocol === 'string')!;
  const parent = String(child.parentProtocol).slice('parent#'.length);
  const detail = await replica.get<Rec>(`/protocol/${parent}`);
  assert.equal(detail.isParentProtocol, true);
  assert.ok((detail.otherProtocols as string[]).includes(child.name as string));

  const res = await fetch(`${replica.url}/protocol/no-such-protocol`);
  assert.equal(res.status, 400);
  assert.equal(await res.text(), 'Protocol not found');
  const bad = await fetch(`${replica.url}/chart/not-a-uuid`);
  assert.equal(bad.status, 400);
  assert.equal(await bad.json(), 'invalid configID!');
  assert.deepEqual(await replica.get('/chart/00000000-0000-4000-8000-000000000000'), { status: 'success', data: [] });
});

test('next day: TVLs move, 1–2% of pools vanish, new ones appear, some protocols change, history stays put', async () => {
  await withReplica({ pools: 2000, protocols: 500 }, async (r) => {
    const day0 = (await r.get<Envelope>('/pools')).data;
    const protocols0 = await r.get<Rec[]>('/protocols');
    const chart0 = (await r.get<Envelope>(`/chart/${day0[0]!.pool}`)).data;
    const date0 = r.date;
    r.nextDay();
    assert.equal(r.day, 1);
    assert.notEqual(r.date, date0);
    const day1 = (await r.get<Envelope>('/pools')).data;
    const ids0 = new Set(day0.map((p) => p.pool));
    const ids1 = new Set(day1.map((p) => p.pool));
    const vanished = [...ids0].filter((id) => !ids1.has(id)).length;
    const appeared = [...ids1].filter((id) => !ids0.has(id)).length;
    assert.ok(vanished >= 10 && vanished <= 60, `vanished ${vanished}`);
    assert.equal(appeared, 30);
    const before = new Map(day0.map((p) => [p.pool, p.tvlUsd]));
    const moved = day1.filter((p) => before.has(p.pool) && before.get(p.pool) !== p.tvlUsd).length;
    assert.ok(moved > (ids1.size - appeared) * 0.9, `TVL moved for ${moved} pools`);

    const protocols1 = await r.get<Rec[]>('/protocols');
    const old = new Map(protocols0.map((p) => [p.id, p]));
    const changed = protocols1.filter((p) => old.has(p.id) && (old.get(p.id)!.category !== p.category || old.get(p.id)!.description !== p.description));
    assert.ok(changed.length >= 1, 'some protocols changed');

    assert.ok(ids1.has(day0[0]!.pool));
    const chart1 = (await r.get<Envelope>(`/chart/${day0[0]!.pool}`)).data;
    assert.equal(chart1.length, chart0.length + 1, 'one more point');
    assert.equal(String(chart1.at(-1)!.timestamp).slice(0, 10), r.date);
    const byDate = new Map(chart1.map((p) => [String(p.timestamp).slice(0, 10), p.tvlUsd]));
    for (const p of chart0) assert.equal(byDate.get(String(p.timestamp).slice(0, 10)), p.tvlUsd, 'past points do not change');

    const gone = [...ids0].find((id) => !ids1.has(id))!;
    const goneChart = (await r.get<Envelope>(`/chart/${gone}`)).data;
    assert.equal(String(goneChart.at(-1)!.timestamp).slice(0, 10), date0, 'a vanished pool keeps its history up to its last day');

    // The control endpoint does the same from another process.
    const next = await control.nextDay(r.url);
    assert.equal(next.day, 2);
    const state = await control.state(r.url);
    assert.equal(state.day, 2);
    assert.equal(state.counts?.chains, 40);
  });
});

test('pro layout: /<key>/api/... and /<key>/yields/... serve the same bodies; crossed families are 404', async () => {
  assert.deepEqual(await replica.get('/SOMEKEY/api/protocols'), protocols);
  assert.deepEqual(await replica.get('/SOMEKEY/api/v2/chains'), chains);
  assert.deepEqual((await replica.get<Envelope>('/SOMEKEY/yields/pools')).data, pools);
  const id = pools[0]!.pool as string;
  assert.deepEqual(await replica.get(`/SOMEKEY/yields/chart/${id}`), await replica.get(`/chart/${id}`));
  assert.equal((await fetch(`${replica.url}/SOMEKEY/api/pools`)).status, 404);
  assert.equal((await fetch(`${replica.url}/SOMEKEY/yields/protocols`)).status, 404);
});

test('gzip when the client accepts it', async () => {
  const get = (encoding: string | undefined) =>
    new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request(`${replica.url}/pools`, { headers: encoding ? { 'Accept-Encoding': encoding } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
  const zipped = await get('gzip, deflate');
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  const plain = await get(undefined);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.ok(zipped.body.length < plain.body.length / 3);
  assert.equal(gunzipSync(zipped.body).toString(), plain.body.toString());
});

test('faults through the control endpoints: set, wear off after `times`, clear; bad faults are refused', async () => {
  await control.setFault(replica.url, '/pools', { kind: 'status', status: 503, times: 2 });
  assert.equal((await fetch(`${replica.url}/pools`)).status, 503);
  assert.equal((await fetch(`${replica.url}/SOMEKEY/yields/pools`)).status, 503, 'the pro layout shares the route');
  assert.equal((await fetch(`${replica.url}/pools`)).status, 200);

  await control.setFault(replica.url, '/chart/*', { kind: 'status', status: 429, retryAfter: 7 });
  const limited = await fetch(`${replica.url}/chart/${pools[0]!.pool}`);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '7');
  await control.clearFaults(replica.url);
  assert.equal((await fetch(`${replica.url}/chart/${pools[0]!.pool}`)).status, 200);

  await control.setFault(replica.url, '/protocols', { kind: 'malformed', count: 4, times: 1 });
  const broken = await replica.get<Rec[]>('/protocols');
  assert.equal(broken.length, 80);
  assert.equal(broken.filter((p, i) => JSON.stringify(p) !== JSON.stringify(protocols[i])).length, 4);

  const refused = await fetch(`${replica.url}/__replica/faults`, { method: 'POST', body: JSON.stringify({ route: '/pools', fault: { kind: 'explode' } }) });
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { message: string }).message, /unknown fault kind "explode"/);
});

test('--fault specs parse into faults, with clear errors', () => {
  assert.deepEqual(parseFaultSpec('/pools=status:429,retryAfter=1,times=2'), { route: '/pools', fault: { kind: 'status', status: 429, times: 2, retryAfter: '1' } });
  assert.deepEqual(parseFaultSpec('protocols=slow:2000'), { route: '/protocols', fault: { kind: 'slow', delayMs: 2000 } });
  assert.deepEqual(parseFaultSpec('/chart/*=malformed:3'), { route: '/chart/*', fault: { kind: 'malformed', count: 3 } });
  assert.deepEqual(parseFaultSpec('/poolsOld=pro-only'), { route: '/poolsOld', fault: { kind: 'pro-only' } });
  assert.throws(() => parseFaultSpec('/pools'), /expected route=kind/);
  assert.throws(() => parseFaultSpec('/pools=status:abc'), /status.*between 100 and 599/);
  assert.deepEqual(parseFaultSpec('/chart/*=hostile:absurd-dates+non-finite'), { route: '/chart/*', fault: { kind: 'hostile', cases: ['absurd-dates', 'non-finite'] } });
  assert.deepEqual(parseFaultSpec('/pools=hostile,times=1'), { route: '/pools', fault: { kind: 'hostile', cases: ['long-field', 'deep-nesting', 'non-finite', 'nul', 'absurd-dates'], times: 1 } });
  assert.throws(() => parseFaultSpec('/pools=hostile:huge'), /hostile fault's "cases" are among long-field, deep-nesting, non-finite, nul, absurd-dates; got \["huge"\]/);
});

test('a hostile fault adds poisoned records and points to the real ones, in text JSON.stringify cannot write', async () => {
  replica.setFault('/pools', { kind: 'hostile', cases: ['long-field', 'deep-nesting', 'non-finite', 'nul'], times: 1 });
  const text = await fetch(`${replica.url}/pools`).then((r) => r.text());
  const served = (JSON.parse(text) as Envelope).data;
  assert.deepEqual(served.slice(0, pools.length), pools);
  const added = served.slice(pools.length);
  assert.equal(added.length, 4);
  assert.equal(new Set(served.map((p) => p.pool)).size, served.length, 'poisoned records have their own keys');
  assert.ok((added[0]!.project as string).length >= 8000);
  let depth = 0;
  for (let v: unknown = added[1]!.poolMeta; typeof v === 'object' && v !== null; v = (v as { a: unknown }).a) depth++;
  assert.equal(depth, 6000);
  assert.match(text, /"tvlUsd":1e400/);
  assert.equal(added[2]!.tvlUsd, Infinity);
  assert.ok((added[3]!.symbol as string).includes('\u0000'));

  const id = pools[0]!.pool as string;
  replica.setFault('/chart/*', { kind: 'hostile', cases: ['absurd-dates'], times: 1 });
  const chart = (await replica.get<Envelope>(`/chart/${id}`)).data;
  const plain = (await replica.get<Envelope>(`/chart/${id}`)).data;
  assert.deepEqual(chart.slice(0, 2).map((p) => p.timestamp), ['1970-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z']);
  assert.deepEqual(chart.slice(2), plain);
});

test('--data-dir replays recorded files, with day-N overrides', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-replay-'));
  try {
    const pool = (id: string, tvl: number) => ({ chain: 'Ethereum', project: 'lido', symbol: 'STETH', tvlUsd: tvl, pool: id });
    writeFileSync(join(dir, 'pools.json'), JSON.stringify({ status: 'success', data: [pool(String(pools[0]!.pool), 1), pool(String(pools[1]!.pool), 2)] }));
    mkdirSync(join(dir, 'day-1'));
    writeFileSync(join(dir, 'day-1', 'pools.json'), JSON.stringify({ status: 'success', data: [pool(String(pools[0]!.pool), 3)] }));
    mkdirSync(join(dir, 'protocol'));
    writeFileSync(join(dir, 'protocol', 'lido.json'), JSON.stringify({ id: '182', name: 'Lido', tvl: [] }));
    await withReplica({ dataDir: dir }, async (r) => {
      assert.equal((await r.get<Envelope>('/pools')).data.length, 2);
      assert.deepEqual(await r.get('/protocol/lido'), { id: '182', name: 'Lido', tvl: [] });
      assert.equal((await fetch(`${r.url}/protocol/aave`)).status, 400);
      assert.equal((await fetch(`${r.url}/protocols`)).status, 404, 'a route without a recording');
      assert.equal((await fetch(`${r.url}/protocol/..%2F..%2Fetc`)).status, 400, 'names cannot climb out of the directory');
      r.nextDay();
      assert.deepEqual((await r.get<Envelope>('/pools')).data.map((p) => p.tvlUsd), [3]);
      r.day = 5;
      assert.deepEqual((await r.get<Envelope>('/pools')).data.map((p) => p.tvlUsd), [3], 'the latest earlier day applies');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm run replica: serves on the given port until stopped, with --fault', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'replica/main.ts', '--port', '0', '--pools', '60', '--protocols', '20', '--chains', '12', '--fault', '/pools=status:503,times=1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /DeFiLlama replica at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => reject(new Error(`replica exited with ${code}: ${err}`)));
    });
    assert.equal((await fetch(`${url}/pools`)).status, 503);
    const body = (await (await fetch(`${url}/pools`)).json()) as Envelope;
    assert.equal(body.data.length, 60);
    const state = await control.state(url);
    assert.equal(state.requests['/pools'], 2);
  } finally {
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('the program never imports the replica: it is not built or shipped', () => {
  const sources = readdirSync('src', { recursive: true }).map(String).filter((f) => f.endsWith('.ts'));
  assert.ok(sources.includes('cli.ts'));
  const importers = sources.filter((f) => /(from |import\()'[^']*\/replica\//.test(readFileSync(join('src', f), 'utf8')));
  assert.deepEqual(importers, []);
});
