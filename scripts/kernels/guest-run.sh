#!/bin/sh
# Runs inside a matrix guest (after init.sh), on the host's root mounted read-only, as root.
# Reads the plan the host wrote into the results share (/run/netprobe-out/plan: one suite a
# line, "<name> <timeout-seconds> <command...>"), runs each from the repo with CI=true (a
# skipped kernel test fails), writes <name>.log and a result line per suite, then powers off.
out=/run/netprobe-out
repo="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root CI=true TMPDIR=/tmp
for arg in $(cat /proc/cmdline); do
  case "$arg" in np.slowdown=*) export NETPROBE_TEST_SLOWDOWN="${arg#np.slowdown=}" ;; esac
done
result() { echo "NETPROBE-RESULT $*" | tee -a "$out/results"; }

mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ip link set lo up
hostname netprobe-guest 2>/dev/null
cd "$repo" || { result "suite=boot status=fail reason=no-repo"; echo o > /proc/sysrq-trigger; }
btf=no; [ -e /sys/kernel/btf/vmlinux ] && btf=yes
result "suite=boot status=pass kernel=$(uname -r) btf=$btf node=$(node --version) cpus=$(nproc) uptime=$(cut -d. -f1 /proc/uptime)"

while read -r name limit cmd; do
  [ -n "$name" ] || continue
  start=$(date +%s)
  timeout -k 10 "$limit" sh -c "$cmd" > "$out/$name.log" 2>&1
  rc=$?
  status=pass; [ $rc -eq 0 ] || status=fail
  [ $rc -eq 124 ] && status=timeout
  result "suite=$name status=$status rc=$rc seconds=$(( $(date +%s) - start ))"
done < "$out/plan"
result "suite=done status=pass"
sync
echo o > /proc/sysrq-trigger
sleep 30
