/**
 * The terminal while `netprobe top` runs full-screen: the alternate screen, no
 * cursor, keys one by one (raw mode). restore() puts everything back and is safe
 * to call twice; it also runs when the process exits some other way.
 */
import readline from 'node:readline';
import { applyKey, type KeyPress, type KeyResult } from './keys';
import type { ViewState } from './view-model';

const ALT_SCREEN_ON = '\x1b[?1049h';
const ALT_SCREEN_OFF = '\x1b[?1049l';
const CURSOR_HIDE = '\x1b[?25l';
const CURSOR_SHOW = '\x1b[?25h';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_SCREEN_END = '\x1b[J';

export interface TerminalHandlers {
  onKey(result: KeyResult): void;
  onResize(): void;
  getState(): ViewState;
}

export class Terminal {
  private active = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly input: NodeJS.ReadStream, private readonly output: NodeJS.WriteStream) {}

  get columns(): number {
    return this.output.columns || 80;
  }

  get rows(): number {
    return this.output.rows || 24;
  }

  start(handlers: TerminalHandlers): void {
    this.active = true;
    this.output.write(ALT_SCREEN_ON + CURSOR_HIDE);
    readline.emitKeypressEvents(this.input);
    if (this.input.isTTY) this.input.setRawMode(true);
    const onKeypress = (_text: string | undefined, key: KeyPress | undefined) => handlers.onKey(applyKey(handlers.getState(), key ?? {}));
    this.input.on('keypress', onKeypress);
    this.input.resume();
    this.output.on('resize', handlers.onResize);
    const onExit = () => this.restore();
    process.on('exit', onExit);
    this.cleanups.push(
      () => this.input.off('keypress', onKeypress),
      () => this.output.off('resize', handlers.onResize),
      () => process.off('exit', onExit),
    );
  }

  /** Redraws in place: each line cleared to its end, then the rest of the screen. */
  draw(lines: readonly string[]): void {
    if (!this.active) return;
    this.output.write(HOME + lines.join(`${CLEAR_LINE_END}\n`) + CLEAR_LINE_END + CLEAR_SCREEN_END);
  }

  restore(): void {
    if (!this.active) return;
    this.active = false;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    if (this.input.isTTY) this.input.setRawMode(false);
    this.input.pause();
    this.output.write(CURSOR_SHOW + ALT_SCREEN_OFF);
  }
}
