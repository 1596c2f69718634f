/** Where the cgroup v2 hierarchy is mounted, from the mount table. */
import fs from 'node:fs';
import path from 'node:path';

export function cgroupV2Root(mounts: string = readMounts()): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint) return mountPoint.replace(/\\040/g, ' ');
  }
  return undefined;
}

/** The cgroup's directory in the cgroup v2 mount (normalized from "/", so ".." cannot leave it). */
export function cgroupDirectory(cgroup: string, root = cgroupV2Root()): string {
  if (!root) throw new Error('cgroup v2 is not mounted (no cgroup2 entry in /proc/self/mounts)');
  return path.join(root, path.posix.normalize(cgroup)).replace(/(.)\/$/, '$1');
}

function readMounts(): string {
  try {
    return fs.readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return '';
  }
}

/** How often at most an unknown cgroup id makes the hierarchy be walked again. */
const RESCAN_MS = 5000;

/**
 * Cgroup v2 paths by id (a cgroup's id is its directory's inode number), found by
 * walking the hierarchy: once, then again when an unknown id comes (at most every 5 s).
 */
export class CgroupPaths {
  private paths = new Map<number, string>();
  private scannedAt = -Infinity;

  constructor(private readonly root: string | undefined = cgroupV2Root(), private readonly now = () => Date.now()) {}

  path(id: number): string | undefined {
    const known = this.paths.get(id);
    if (known !== undefined || !this.root || this.now() - this.scannedAt < RESCAN_MS) return known;
    this.scannedAt = this.now();
    this.paths = scan(this.root);
    return this.paths.get(id);
  }
}

function scan(root: string): Map<number, string> {
  const out = new Map<number, string>();
  const walk = (dir: string, rel: string, depth: number) => {
    try {
      out.set(Number(fs.statSync(dir, { bigint: true }).ino), rel || '/');
      if (depth > 64) return;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(`${dir}/${e.name}`, `${rel}/${e.name}`, depth + 1);
      }
    } catch {
      // a cgroup removed while walking
    }
  };
  walk(root, '', 0);
  return out;
}
