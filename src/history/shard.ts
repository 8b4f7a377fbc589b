/** Shard i of n takes the items whose key hashes to i mod n: by key only, so shards 0..n-1 cover each item exactly once. */
import { createHash } from 'node:crypto';
import { fail, ok, type Config, type Parsed } from '../config.js';
import { ConfigError } from '../errors.js';

export interface Shard {
  /** 0-based, like JOB_COMPLETION_INDEX. */
  readonly index: number;
  readonly count: number;
}

/** As JSON "i/n": sync_jobs.args records the shard as --shard takes it. */
const makeShard = (index: number, count: number): Shard => Object.freeze({ index, count, toJSON: () => `${index}/${count}` });

const MAX_SHARDS = 1000;
const SHARD = /^(\d+)\/(\d+)$/;

export function parseShard(raw: string): Parsed<Shard> {
  const m = SHARD.exec(raw.trim());
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || count < 1 || count > MAX_SHARDS || index >= count) {
    return fail(`i/n with 1 <= n <= ${MAX_SHARDS} and 0 <= i < n (shards are numbered from 0, like JOB_COMPLETION_INDEX)`);
  }
  return ok(makeShard(index, count));
}

/** --shard wins; otherwise a Kubernetes Indexed Job's JOB_COMPLETION_INDEX of JOB_COMPLETIONS; otherwise everything. */
export function resolveShard(given: Shard | undefined, config: Pick<Config, 'jobCompletionIndex' | 'jobCompletions'>): Shard {
  if (given !== undefined) return given;
  const { jobCompletionIndex: index, jobCompletions: count } = config;
  if (index === undefined && (count === undefined || count === 1)) return makeShard(0, 1);
  if (index === undefined) {
    throw new ConfigError(`JOB_COMPLETIONS is ${count} but JOB_COMPLETION_INDEX is not set: run as a Kubernetes Indexed Job or pass --shard i/${count}`);
  }
  if (count === undefined) {
    throw new ConfigError(
      `JOB_COMPLETION_INDEX is ${index} but JOB_COMPLETIONS is not set: set it to the Indexed Job's completions so the shards split the items between them`,
    );
  }
  if (count > MAX_SHARDS || index >= count) {
    throw new ConfigError(`JOB_COMPLETION_INDEX must be below JOB_COMPLETIONS (at most ${MAX_SHARDS}), got index ${index} of ${count}`);
  }
  return makeShard(index, count);
}

export function describeShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The shard an item belongs to: the first 32 bits of SHA-1 of "<kind>:<id>", modulo the count. */
export function shardOf(key: string, count: number): number {
  if (count === 1) return 0;
  return createHash('sha1').update(key).digest().readUInt32BE(0) % count;
}

export function inShard(key: string, shard: Shard): boolean {
  return shardOf(key, shard.count) === shard.index;
}
