/**
 * A C enum as the object's BTF declares it, so no enumerator value is copied into
 * TypeScript: `CONNTRACK_ROLE_CLIENT` is found by name, and `labels('CONNTRACK_ROLE_')`
 * turns the enumerators into the lower-case names userspace reports (`client`).
 * An enum only used as constants in C must be kept in BTF with NP_EXPORT_ENUM.
 */
import { NetprobeError } from '../errors';

export interface Enumerator {
  name: string;
  value: number;
}

export class BtfEnum {
  constructor(readonly name: string, readonly enumerators: readonly Enumerator[]) {}

  /** The value of an enumerator, by its C name (e.g. `FLOW_DIR_EGRESS`). */
  value(enumerator: string): number {
    const e = this.enumerators.find((x) => x.name === enumerator);
    if (!e) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `enum ${this.name} has no ${enumerator}`);
    return e.value;
  }

  /** Enumerators starting with `prefix`, named by the rest in lower case; `skip` leaves some out (e.g. a `_MAX` count). */
  labels(prefix: string, skip: readonly string[] = []): EnumLabels {
    const byValue = new Map<number, string>();
    for (const e of this.enumerators) {
      if (!e.name.startsWith(prefix) || skip.includes(e.name)) continue;
      byValue.set(e.value, e.name.slice(prefix.length).toLowerCase());
    }
    return new EnumLabels(this.name, byValue);
  }
}

/** value <-> lower-case label of one enum (see BtfEnum.labels). */
export class EnumLabels {
  constructor(readonly enumName: string, private readonly byValue: ReadonlyMap<number, string>) {}

  /** The label of a value; `unknown_<n>` for a value the enum does not name. */
  name(value: number): string {
    return this.byValue.get(value) ?? `unknown_${value}`;
  }

  /** Whether the enum names this value. */
  has(value: number): boolean {
    return this.byValue.has(value);
  }

  value(label: string): number {
    for (const [v, n] of this.byValue) if (n === label) return v;
    throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `enum ${this.enumName} has no ${label}`);
  }

  get names(): string[] {
    return [...this.byValue.values()];
  }

  /** label -> value, for building bit sets and tables. */
  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.byValue].map(([v, n]) => [n, v]));
  }

  entries(): IterableIterator<[number, string]> {
    return this.byValue.entries();
  }
}
