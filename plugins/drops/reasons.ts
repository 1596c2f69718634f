/**
 * Drop reasons as the running kernel numbers and names them (`enum skb_drop_reason`
 * in its BTF): the values shift between kernel versions, so no table is kept here.
 * SKB_DROP_REASON_NO_SOCKET becomes `no_socket`; a value the enum lacks (a subsystem's
 * own reasons, in the high 16 bits) becomes `unknown_<value>`.
 */
const PREFIX = 'SKB_DROP_REASON_';

export class DropReasons {
  private readonly byValue = new Map<number, string>();
  private readonly byName = new Map<string, number>();

  /**
   * `enumerators`: the kernel's `enum skb_drop_reason`, or undefined on kernels without one;
   * `unknown`: the value the program records when the tracepoint passes no reason
   * (DROPS_REASON_UNKNOWN, read from the object's BTF: enum drops_reason_marker).
   */
  constructor(enumerators: ReadonlyArray<{ name: string; value: number }> | undefined, private readonly unknown: number) {
    for (const e of enumerators ?? []) {
      if (!e.name.startsWith(PREFIX) || e.name === `${PREFIX}MAX` || e.name === `${PREFIX}SUBSYS_MASK`) continue;
      const name = e.name.slice(PREFIX.length);
      this.byValue.set(e.value, name.toLowerCase());
      this.byName.set(name, e.value);
    }
  }

  /** False on kernels whose tracepoint passes no reason. */
  get known(): boolean {
    return this.byValue.size > 0;
  }

  name(value: number): string {
    if (value === this.unknown) return 'unknown';
    return this.byValue.get(value) ?? `unknown_${value}`;
  }

  /** The kernel's value for a reason as the config names it (`NOT_SPECIFIED`, any case). */
  value(name: string): number | undefined {
    return this.byName.get(name.toUpperCase().replace(new RegExp(`^${PREFIX}`), ''));
  }
}
