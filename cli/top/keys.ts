/**
 * Keys of `netprobe top`: what each does to the view state. Pure, so every key is
 * tested without a terminal.
 */
import { PANELS, SORTS, type ViewState } from './view-model';

/** What readline's keypress events carry. */
export interface KeyPress {
  name?: string;
  sequence?: string;
  ctrl?: boolean;
  shift?: boolean;
}

export type KeyResult = { quit: true } | { quit: false; state: ViewState; changed: boolean };

export const KEY_HELP = 'q quit, p/space pause, s sort, tab/shift-tab or 1-6 panel';

function cycle<T>(list: readonly T[], current: T, step: number): T {
  const i = list.indexOf(current);
  return list[(i + step + list.length) % list.length]!;
}

export function applyKey(state: ViewState, key: KeyPress): KeyResult {
  if (key.name === 'q' || key.name === 'escape' || (key.ctrl && (key.name === 'c' || key.name === 'd'))) return { quit: true };
  const next = (s: Partial<ViewState>): KeyResult => ({ quit: false, state: { ...state, ...s }, changed: true });
  if (key.name === 'p' || key.name === 'space') return next({ paused: !state.paused });
  if (key.name === 's') return next({ sort: cycle(SORTS, state.sort, key.shift ? -1 : 1) });
  if (key.name === 'tab') return next({ panel: cycle(PANELS, state.panel, key.shift ? -1 : 1) });
  if (key.name === 'right') return next({ panel: cycle(PANELS, state.panel, 1) });
  if (key.name === 'left') return next({ panel: cycle(PANELS, state.panel, -1) });
  const digit = Number(key.sequence);
  if (Number.isInteger(digit) && digit >= 1 && digit <= PANELS.length) return next({ panel: PANELS[digit - 1]! });
  return { quit: false, state, changed: false };
}
