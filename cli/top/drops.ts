/**
 * Packets the kernel dropped per interface (/sys/class/net/IFACE/statistics): the
 * driver's and the stack's counters, which no probe sees. Read once per interval.
 */
import fs from 'node:fs';

const NET = '/sys/class/net';

/** name -> rx_dropped + tx_dropped, for every interface of this network namespace that has them. */
export function readInterfaceDrops(root = NET): Map<string, number> {
  const drops = new Map<string, number>();
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return drops;
  }
  for (const name of names) {
    try {
      const read = (f: string) => Number(fs.readFileSync(`${root}/${name}/statistics/${f}`, 'utf8'));
      drops.set(name, read('rx_dropped') + read('tx_dropped'));
    } catch {
      // gone meanwhile, or no statistics
    }
  }
  return drops;
}
