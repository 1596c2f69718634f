#!/bin/sh
# Guest init (busybox, in the initramfs): load the modules, mount the host's root read-only
# over 9p, give it writable scratch space, and hand over to the repo's guest-run.sh.
# Everything it needs comes on the kernel command line: np.repo=<path of the repo>.
export PATH=/bin
busybox mount -t proc proc /proc
busybox mount -t sysfs sys /sys
busybox mount -t devtmpfs dev /dev
fail() { echo "NETPROBE-GUEST-FATAL $*"; echo o > /proc/sysrq-trigger; sleep 10; }
while read -r m; do
  busybox insmod "/modules/$m" || fail "insmod $m"
done < /modules/order
# cache=loose: each file crosses 9p once per guest (loading the probe harness cold 7.5-9.5 s,
# warm 3-4 s under TCG); copying node_modules to a tmpfs instead took 179 s.
busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose root /newroot || fail "mounting the host root over 9p"
for d in tmp run var/tmp root; do busybox mount -t tmpfs -o mode=1777 tmpfs "/newroot/$d" || fail "tmpfs on /$d"; done
busybox mkdir -p /newroot/run/netprobe-out
busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /newroot/run/netprobe-out || fail "mounting the results share"
for arg in $(busybox cat /proc/cmdline); do
  case "$arg" in np.repo=*) repo="${arg#np.repo=}" ;; esac
done
busybox mount --move /proc /newroot/proc
busybox mount --move /sys /newroot/sys
busybox mount --move /dev /newroot/dev
exec busybox switch_root /newroot /bin/sh "$repo/scripts/kernels/guest-run.sh"
