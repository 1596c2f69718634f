/**
 * Kernel function names for addresses (/proc/kallsyms), e.g. where a packet was dropped:
 * `udp_queue_rcv_one_skb+0x1c4`. Loaded once, on first use; addresses hidden from us
 * (kptr_restrict, no CAP_SYSLOG: every address reads 0) give no names.
 */
import fs from 'node:fs';

export class KernelSymbols {
  /**
   * Addresses as offsets from the lowest one, so they fit a float64 exactly (a text
   * section spans far less than 2^53 bytes) and the parse needs no BigInt per line.
   */
  private constructor(private readonly base: bigint, private readonly offsets: Float64Array, private readonly names: string[]) {}

  /** Text symbols (functions) only, sorted by address. */
  static parse(text: string): KernelSymbols {
    const his: number[] = [];
    const los: number[] = [];
    const names: string[] = [];
    for (const line of text.split('\n')) {
      // "ffffffff820a64d0 t udp_queue_rcv_one_skb[\t[module]]"
      const type = line[17];
      if (line[16] !== ' ' || (type !== 't' && type !== 'T') || line[18] !== ' ') continue;
      const hi = Number.parseInt(line.slice(0, 8), 16);
      const lo = Number.parseInt(line.slice(8, 16), 16);
      if (!hi && !lo) continue;
      const tab = line.indexOf('\t', 19);
      his.push(hi);
      los.push(lo);
      names.push(line.slice(19, tab >= 0 ? tab : line.length));
    }
    if (names.length === 0) return new KernelSymbols(0n, new Float64Array(0), []);
    let minHi = Infinity;
    let minLo = Infinity;
    his.forEach((hi, i) => {
      if (hi < minHi || (hi === minHi && los[i]! < minLo)) {
        minHi = hi;
        minLo = los[i]!;
      }
    });
    const offsets = his.map((hi, i) => (hi - minHi) * 0x1_0000_0000 + (los[i]! - minLo));
    const order = offsets.map((_, i) => i).sort((a, b) => offsets[a]! - offsets[b]!);
    return new KernelSymbols(
      (BigInt(minHi) << 32n) + BigInt(minLo),
      Float64Array.from(order.map((i) => offsets[i]!)),
      order.map((i) => names[i]!),
    );
  }

  static load(file = '/proc/kallsyms'): KernelSymbols {
    try {
      return KernelSymbols.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return new KernelSymbols(0n, new Float64Array(0), []);
    }
  }

  get size(): number {
    return this.names.length;
  }

  /** `function+0xoffset` for an address inside a known function, else undefined. */
  name(address: bigint): string | undefined {
    if (this.names.length === 0 || address < this.base) return undefined;
    const offset = Number(address - this.base);
    let lo = 0;
    let hi = this.offsets.length - 1;
    if (offset < this.offsets[0]!) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    const within = offset - this.offsets[lo]!;
    return within === 0 ? this.names[lo] : `${this.names[lo]}+0x${within.toString(16)}`;
  }
}

let shared: KernelSymbols | undefined;

/** The collector's one copy, loaded on first use. */
export function kernelSymbols(): KernelSymbols {
  shared ??= KernelSymbols.load();
  return shared;
}
