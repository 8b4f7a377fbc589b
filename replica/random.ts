/**
 * Deterministic randomness for the replica: every entity draws from a generator seeded by a hash
 * of (seed, kind, index), so any record or daily value can be recomputed on its own, in any order.
 */

/** A 32-bit mix of up to four integers (murmur3 finaliser over a simple combination). */
export function hash(a: number, b = 0, c = 0, d = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ d, 0x165667b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) from the hash of its arguments. */
export function unit(a: number, b = 0, c = 0, d = 0): number {
  return hash(a, b, c, d) / 4294967296;
}

const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');
let scratchBuffer = Buffer.alloc(128);
function scratch(size: number): Buffer {
  if (scratchBuffer.length < size) scratchBuffer = Buffer.alloc(size * 2);
  return scratchBuffer;
}

/** mulberry32: small, fast, good enough for synthetic data. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(min: number, max: number): number {
    return min + this.next() * (max - min);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** 32 random bits as 8 hex digits. */
  word(): string {
    return this.hex(8);
  }
  /**
   * Random text is written as bytes and decoded once: a flat string, where `+=` would leave a
   * tree of string pieces per address (several times the memory, and garbage collector work).
   */
  hex(chars: number, prefix = ''): string {
    const p = prefix.length;
    const buf = scratch(p + chars);
    buf.write(prefix, 0, 'latin1');
    for (let i = 0; i < chars; i += 8) {
      let x = (this.next() * 4294967296) >>> 0;
      for (let k = Math.min(7, chars - 1 - i); k >= 0; k--) {
        buf[p + i + k] = HEX_CODES[x & 15]!;
        x >>>= 4;
      }
    }
    return buf.toString('latin1', 0, p + chars);
  }
  fromAlphabet(alphabet: string, length: number, prefix = ''): string {
    const p = prefix.length;
    const buf = scratch(p + length);
    buf.write(prefix, 0, 'latin1');
    for (let i = 0; i < length; i++) buf[p + i] = alphabet.charCodeAt(this.int(alphabet.length));
    return buf.toString('latin1', 0, p + length);
  }
  /** A version-4 UUID, as one flat string. */
  uuid(): string {
    const buf = scratch(36);
    for (let i = 0, w = 0, x = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        buf[i] = 45; // '-'
        continue;
      }
      if (w === 0) {
        x = (this.next() * 4294967296) >>> 0;
        w = 8;
      }
      buf[i] = HEX_CODES[x & 15]!;
      x >>>= 4;
      w--;
    }
    buf[14] = 52; // version 4
    buf[19] = HEX_CODES[8 + this.int(4)]!; // variant 10xx
    return buf.toString('latin1', 0, 36);
  }
}

/** Rounds the way DeFiLlama does for yields: 5 decimals. */
export function round5(n: number): number {
  return Math.round(n * 1e5) / 1e5;
}

/** Picks an index from cumulative weights (ascending, last = total). */
export function pickWeighted(cumulative: Float64Array, u: number): number {
  const total = cumulative[cumulative.length - 1] ?? 0;
  const target = u * total;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cumulative[mid] as number) <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
