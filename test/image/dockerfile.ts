/** Reads the Dockerfile the way the image tests need it. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const dockerfile = (): string => readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

/** Instructions with continuation lines joined, comments dropped. */
export function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The instructions of one stage (`FROM ... AS <stage>` up to the next FROM). */
export function stage(text: string, name: string): string[] {
  const out: string[] = [];
  let inStage = false;
  for (const line of instructions(text)) {
    if (/^FROM\s/i.test(line)) inStage = new RegExp(`\\sAS\\s+${name}$`, 'i').test(line);
    else if (inStage) out.push(line);
  }
  return out;
}

/** COPY sources of one stage taken from the build context (not --from another stage). */
export function copySources(text: string, name: string): string[] {
  return stage(text, name)
    .filter((l) => /^COPY\s/i.test(l) && !/--from=/i.test(l))
    .flatMap((l) => l.split(/\s+/).slice(1, -1).filter((w) => !w.startsWith('--')));
}
