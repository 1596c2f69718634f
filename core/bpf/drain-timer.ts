/** The timer both ring-buffer readers drain on: unref'd, so it never keeps the process alive. */
export class DrainTimer {
  private timer: NodeJS.Timeout | undefined;

  /** Calls `drain` every `intervalMs`; what it throws goes to `onError`. Replaces any earlier schedule. */
  start(drain: () => unknown, intervalMs: number, onError: (err: unknown) => void): void {
    this.stop();
    this.timer = setInterval(() => {
      try {
        drain();
      } catch (err) {
        onError(err);
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
