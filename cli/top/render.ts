/**
 * Fits a Screen into a terminal of `columns` x `rows`: every line at most
 * `columns` wide, at most `rows` lines, the growing table taking what the others
 * leave. cli-table3 lays out the columns (alignment, truncation with an ellipsis,
 * widths that ignore colour codes); picocolors colours only when asked to.
 */
import Table from 'cli-table3';
import { createColors } from 'picocolors';
import type { Block, Column, Screen, TableBlock } from './view-model';

export interface RenderOptions {
  columns: number;
  rows: number;
  colour: boolean;
  /** Pad to `rows` lines, so the footer sits on the last line (full-screen); else as long as the content. */
  fill?: boolean;
}

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: ' ',
};

/** Cuts plain text to `width` characters, marking the cut. */
export function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Wraps plain text at spaces into lines of at most `width` (a word longer than that is cut); continuation lines indented. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= width || !line) line = candidate;
    else {
      lines.push(line);
      line = `  ${word}`;
    }
  }
  lines.push(line);
  return lines.map((l) => fit(l, width));
}

function visibleColumns(columns: readonly Column[], screenWidth: number): Array<{ column: Column; index: number; width: number }> {
  const shown = columns.map((column, index) => ({ column, index, width: column.width })).filter((c) => (c.column.minScreenWidth ?? 0) <= screenWidth);
  const gaps = shown.length - 1;
  const fixed = shown.reduce((n, c) => n + (c.column.flex ? 0 : c.width), 0);
  for (const c of shown) if (c.column.flex) c.width = Math.max(c.column.width, Math.min(c.column.maxWidth ?? Infinity, screenWidth - fixed - gaps));
  return shown;
}

function renderTable(block: TableBlock, maxRows: number, width: number, colours: ReturnType<typeof createColors>): string[] {
  const shown = visibleColumns(block.columns, width);
  const rows = block.rows.slice(0, Math.max(0, maxRows));
  const hidden = block.rows.length - rows.length;
  const table = new Table({
    chars: NO_BORDER,
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [] },
    colWidths: shown.map((c) => c.width),
    colAligns: shown.map((c) => c.column.align),
    wordWrap: false,
    truncate: '…',
  });
  // Rows that did not fit are counted in the widest column's header.
  const counted = Math.max(0, shown.findIndex((c) => c.column.flex));
  const more = (c: { column: Column; width: number }) => {
    const long = `${c.column.header} (+${hidden} more)`;
    return long.length <= c.width ? long : `${c.column.header} +${hidden}`;
  };
  const header = shown.map((c, i) => (i === counted && hidden > 0 ? more(c) : c.column.header));
  table.push(header.map((h) => colours.bold(h)));
  for (const row of rows) table.push(shown.map((c) => row[c.index] ?? ''));
  const lines = table.toString().split('\n');
  if (block.rows.length === 0 && maxRows > 0) lines.push(colours.dim(fit(`  ${block.empty}`, width)));
  return lines;
}

/** Lines a block needs at most (tables: header + rows, or header + the "empty" line). */
function wanted(block: Block, width: number): number {
  if (block.kind === 'text') return block.lines.reduce((n, l) => n + wrap(l, width).length, 0);
  const rows = Math.min(Math.max(block.rows.length, 1), block.maxRows ?? Infinity);
  return 1 + rows;
}

export function renderScreen(screen: Screen, options: RenderOptions): string[] {
  const { columns: width, rows: height } = options;
  const colours = createColors(options.colour);
  const body = Math.max(0, height - 2);
  // Place every fixed block, then give what is left to the growing tables in order.
  const budget = screen.blocks.map((b) => (b.kind === 'table' && b.grow ? 2 : wanted(b, width)));
  let left = body - budget.reduce((a, b) => a + b, 0);
  screen.blocks.forEach((b, i) => {
    if (b.kind === 'table' && b.grow && left > 0) {
      const more = Math.min(left, Math.max(0, b.rows.length - 1));
      budget[i]! += more;
      left -= more;
    }
  });
  const lines: string[] = [];
  screen.blocks.forEach((b, i) => {
    if (b.kind === 'text') for (const line of b.lines) lines.push(...wrap(line, width));
    else lines.push(...renderTable(b, budget[i]! - 1, width, colours));
  });
  const title = fit(screen.title, width);
  const shown = lines.slice(0, body);
  if (options.fill) while (shown.length < body) shown.push('');
  return [
    options.colour ? colours.inverse(colours.bold(title.padEnd(width))) : title,
    ...shown,
    colours.dim(fit(screen.footer, width)),
  ];
}
