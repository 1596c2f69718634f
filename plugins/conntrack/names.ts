/**
 * Names for the numbers in the kernel's records, read from the enums in
 * conntrack.h through BTF: `CONNTRACK_ROLE_CLIENT` becomes `client`,
 * `CONNTRACK_TCP_FIN_WAIT_1` becomes `fin_wait_1` (the semantic-convention value
 * of network.connection.state).
 */
import type { Btf } from '../../core/bpf/btf';

export class EnumNames {
  private readonly byValue = new Map<number, string>();

  private constructor(readonly enumName: string) {}

  /** Enumerators of `enum <enumName>` starting with `prefix`, suffix lowercased; `*S` counts are skipped. */
  static fromBtf(btf: Btf, enumName: string, prefix: string): EnumNames {
    const enumerators = btf.enumerators(enumName);
    if (!enumerators) throw new Error(`enum ${enumName} not found in BTF`);
    const names = new EnumNames(enumName);
    for (const e of enumerators) {
      if (!e.name.startsWith(prefix)) continue;
      names.byValue.set(e.value, e.name.slice(prefix.length).toLowerCase());
    }
    return names;
  }

  name(value: number): string {
    return this.byValue.get(value) ?? `unknown_${value}`;
  }

  value(name: string): number {
    for (const [v, n] of this.byValue) if (n === name) return v;
    throw new Error(`enum ${this.enumName} has no ${name}`);
  }

  get names(): string[] {
    return [...this.byValue.values()];
  }
}
