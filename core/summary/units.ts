/** Short human units for rates and durations, as `top`-like tools print them. */

const RATE_STEPS = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const;

/** 1234567 -> "1.23M"; below 1000 as is, with at most one decimal. */
export function shortNumber(n: number): string {
  for (const [step, suffix] of RATE_STEPS) {
    if (n >= step * 0.9995) {
      const v = n / step;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${suffix}`;
    }
  }
  if (n === 0) return '0';
  return n >= 10 || Number.isInteger(n) ? n.toFixed(0) : n.toFixed(1);
}

/** Bits per second: "12.5Mb/s". */
export function bitRate(bitsPerS: number): string {
  return `${shortNumber(bitsPerS)}b/s`;
}

/** Packets (or anything) per second: "1.20k/s". */
export function perSecond(n: number): string {
  return `${shortNumber(n)}/s`;
}

/** Seconds as "850us", "12.3ms", "1.50s"; "-" when unknown. */
export function duration(s: number | undefined): string {
  if (s === undefined) return '-';
  if (s < 0.001) return `${Math.round(s * 1e6)}us`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)}ms`;
  return `${s.toFixed(2)}s`;
}

/** An address and port as people write them: "10.0.0.1:53", "[fd00::1]:53", or the address alone. */
export function endpoint(address: string, port: number | undefined): string {
  if (port === undefined) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
