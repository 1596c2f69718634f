/**
 * Long work on the event loop in slices: call pause() between units of work; it
 * yields to the loop (timers, sockets, exports) once the slice has run for
 * `budgetMs`, so a collection over a big table never stalls the process for long.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export class TimeSlice {
  private started = performance.now();

  constructor(private readonly budgetMs = 5) {}

  async pause(): Promise<void> {
    if (performance.now() - this.started < this.budgetMs) return;
    await yieldToLoop();
    this.started = performance.now();
  }
}
