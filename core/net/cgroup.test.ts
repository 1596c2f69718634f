import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupV2Root } from './cgroup';

test('the usual cgroup v2 mount point wins over one listed before it', () => {
  const chroot = 'cgroup2 /var/tmp/build/root/sys/fs/cgroup/unified cgroup2 rw 0 0';
  assert.equal(cgroupV2Root(`${chroot}\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n`), '/sys/fs/cgroup');
  assert.equal(cgroupV2Root(`tmpfs /sys/fs/cgroup tmpfs rw 0 0\n${chroot}\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n`), '/sys/fs/cgroup/unified');
  assert.equal(cgroupV2Root(`${chroot}\n`), '/var/tmp/build/root/sys/fs/cgroup/unified');
  assert.equal(cgroupV2Root('cgroup2 /mnt/my\\040cgroup cgroup2 rw 0 0'), '/mnt/my cgroup');
  assert.equal(cgroupV2Root('proc /proc proc rw 0 0'), undefined);
});
