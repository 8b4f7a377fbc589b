/** Fenced blocks of the documentation, split into what a shell or psql would run. */
import { readFileSync } from 'node:fs';

export interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The fence's info string: bash, sql, text... */
  readonly info: string;
  readonly body: string;
}

export function fencedBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed code block`);
    const indent = open[1]!.length;
    out.push({ file, line: i + 1, info: open[2]!, body: lines.slice(i + 1, end).map((l) => l.slice(indent)).join('\n') });
    i = end;
  }
  return out;
}

/** Shell words (quotes and backslash-newlines; enough for documentation). */
export function words(command: string): string[] {
  return [...command.matchAll(/(?:'[^']*'|"[^"]*"|[^\s'"]+)+/g)].map((m) => m[0].replace(/'([^']*)'|"([^"]*)"/g, '$1$2'));
}

/** The commands of a shell block: continuation lines joined, comments dropped, `&&` chains split. */
export function shellCommands(body: string): string[] {
  return body
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => stripComment(l).trim())
    .filter(Boolean)
    .flatMap((l) => l.split(/\s+&&\s+/));
}

function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/** The statements of a SQL block, comment lines dropped. */
export function sqlStatements(body: string): string[] {
  return body
    .split(/;\s*\n|;\s*$/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}
