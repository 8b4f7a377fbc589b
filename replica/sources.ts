/**
 * Where the replica's responses come from: generated data (Dataset) or responses recorded in a
 * directory (--data-dir). Both answer per day, with bodies as JSON text (served and cached as
 * is) and, for fault injection, as parsed values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dataset, type DatasetOptions } from './dataset.js';
import { heavyProtocolText } from './heavy-protocol.js';

export type ListRoute = '/protocols' | '/v2/chains' | '/pools' | '/poolsOld';
export const LIST_ROUTES: readonly ListRoute[] = ['/protocols', '/v2/chains', '/pools', '/poolsOld'];

/** A response body: its JSON text, and the parsed value on demand. */
export interface Body {
  text(): string;
  value(): unknown;
}

export interface Source {
  readonly kind: 'generated' | 'recorded';
  list(route: ListRoute, day: number): Body | undefined;
  /** undefined: "Protocol not found". */
  protocol(slug: string, day: number): Body | undefined;
  /** undefined: no such pool (the route then answers an empty series). */
  chart(poolId: string, day: number): Body | undefined;
  /** YYYY-MM-DD of a day, when known. */
  date(day: number): string | undefined;
  counts(day: number): Record<string, number> | undefined;
}

function fromValue(make: () => unknown): Body {
  let value: unknown;
  let text: string | undefined;
  return {
    value: () => (value ??= make()),
    text: () => (text ??= JSON.stringify(value ??= make())),
  };
}

function fromText(raw: string): Body {
  let value: unknown;
  return { text: () => raw, value: () => (value ??= JSON.parse(raw)) };
}

export class GeneratedSource implements Source {
  readonly kind = 'generated';
  readonly dataset: Dataset;
  private heavy: { day: number; slug: string; text?: string } | undefined;

  /** `heavyProtocolMb`: the day's largest protocol (by TVL) answers /protocol with a body of about that many MB. */
  constructor(options: DatasetOptions, private readonly heavyProtocolMb = 0) {
    this.dataset = new Dataset(options);
  }

  /** The slug whose /protocol body is grown (--heavy-protocol-mb), or undefined. */
  heavyProtocolSlug(day: number): string | undefined {
    if (this.heavyProtocolMb <= 0) return undefined;
    if (this.heavy?.day !== day) {
      let top: { slug: string; tvl: number } | undefined;
      for (const p of this.dataset.protocolsResponse(day)) {
        const tvl = typeof p.tvl === 'number' ? p.tvl : -1;
        if (!top || tvl > top.tvl) top = { slug: String(p.slug), tvl };
      }
      if (!top) return undefined;
      this.heavy = { day, slug: top.slug };
    }
    return this.heavy.slug;
  }

  list(route: ListRoute, day: number): Body {
    const d = this.dataset;
    switch (route) {
      case '/protocols':
        return fromValue(() => d.protocolsResponse(day));
      case '/v2/chains':
        return fromValue(() => d.chainsResponse(day));
      case '/pools':
        return fromValue(() => ({ status: 'success', data: d.poolsRecords(day) }));
      case '/poolsOld':
        return fromValue(() => ({ status: 'success', data: d.poolsOldRecords(day) }));
    }
  }

  protocol(slug: string, day: number): Body | undefined {
    const detail = this.dataset.protocolDetail(slug, day);
    if (detail === undefined) return undefined;
    if (slug === this.heavyProtocolSlug(day)) {
      // Built once per day: tens of MB.
      const heavy = this.heavy!;
      heavy.text ??= heavyProtocolText(detail, this.heavyProtocolMb);
      return fromText(heavy.text);
    }
    return fromValue(() => detail);
  }

  chart(poolId: string, day: number): Body | undefined {
    const points = this.dataset.poolChart(poolId, day);
    return points === undefined ? undefined : fromValue(() => ({ status: 'success', data: points }));
  }

  date(day: number): string {
    return this.dataset.date(day);
  }

  counts(day: number): Record<string, number> {
    return this.dataset.counts(day);
  }
}

/**
 * Recorded responses, one file per URL path under the directory:
 *   protocols.json  v2/chains.json  pools.json  poolsOld.json
 *   protocol/<slug>.json  chart/<pool-uuid>.json
 * and optionally day-<n>/ directories with the same layout: on day n the replica serves a file
 * from day-n/, else from the latest earlier day-k/ that has it, else from the top directory.
 */
export class RecordedSource implements Source {
  readonly kind = 'recorded';

  constructor(readonly dir: string) {
    if (!existsSync(dir)) throw new Error(`--data-dir ${dir} does not exist`);
  }

  private read(relative: string, day: number): Body | undefined {
    for (let d = day; d >= 1; d--) {
      const file = join(this.dir, `day-${d}`, relative);
      if (existsSync(file)) return fromText(readFileSync(file, 'utf8'));
    }
    const file = join(this.dir, relative);
    return existsSync(file) ? fromText(readFileSync(file, 'utf8')) : undefined;
  }

  list(route: ListRoute, day: number): Body | undefined {
    return this.read(`${route.slice(1)}.json`, day);
  }

  protocol(slug: string, day: number): Body | undefined {
    return safeName(slug) ? this.read(join('protocol', `${slug}.json`), day) : undefined;
  }

  chart(poolId: string, day: number): Body | undefined {
    return safeName(poolId) ? this.read(join('chart', `${poolId}.json`), day) : undefined;
  }

  date(): undefined {
    return undefined;
  }

  counts(): undefined {
    return undefined;
  }
}

/** File names taken from the URL may not climb out of the directory. */
function safeName(name: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(name) && !name.includes('..');
}
