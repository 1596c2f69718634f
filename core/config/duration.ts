/** Durations as the OpenTelemetry Collector writes them: 500ms, 10s, 1.5m, 1h. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/** Milliseconds in a duration string; throws on anything else. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}
