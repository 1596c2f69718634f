/** A systemd unit file read as systemd reads the parts the tests need. */
import fs from 'node:fs';

export type UnitFile = Map<string, Map<string, string[]>>;

/** Sections of key -> values (a key may repeat), comments and blank lines dropped. */
export function readUnitFile(file: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) throw new Error(`${file}: cannot read line ${JSON.stringify(raw)}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** The one value of `key` in `section` (throws when absent). */
export function unitValue(unit: UnitFile, section: string, key: string): string {
  const values = unit.get(section)?.get(key);
  if (!values?.length) throw new Error(`[${section}] ${key}= is not set`);
  return values.at(-1)!;
}

/** `CAP_BPF CAP_NET_ADMIN` -> `bpf,net_admin` (setpriv's spelling). */
export function setprivCaps(value: string): string {
  return value.split(/\s+/).filter(Boolean).map((c) => c.replace(/^CAP_/, '').toLowerCase()).join(',');
}
