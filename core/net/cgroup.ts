/** Where the cgroup v2 hierarchy is mounted, from the mount table. */
import fs from 'node:fs';

/** Where systemd, container runtimes and Kubernetes put it (unified layout, then hybrid). */
const USUAL_MOUNT_POINTS = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'];

/**
 * The cgroup v2 mount to attach to. A host may show several (a container root's, a
 * chroot's): the usual places win over the first one listed, which may be anybody's.
 */
export function cgroupV2Root(mounts: string = readMounts()): string | undefined {
  const found: string[] = [];
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint) found.push(mountPoint.replace(/\\040/g, ' '));
  }
  return USUAL_MOUNT_POINTS.find((p) => found.includes(p)) ?? found[0];
}

function readMounts(): string {
  try {
    return fs.readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return '';
  }
}
