#!/usr/bin/env bash
# The clean-room check: proves the README on fresh Debian roots instead of on whatever
# machine runs it. Each check builds a new minimal root (debootstrap --variant=minbase),
# copies a clone of this repository in, and runs a README command inside it. The roots
# share this machine's kernel (/proc, /sys and /dev are bind-mounted), so kernel tests
# and attachments are real.
#
#   sudo scripts/clean-room.sh test      Debian 12: `scripts/setup.sh test` (CI's test run)
#   sudo scripts/clean-room.sh run       Debian 12 and 13: `scripts/setup.sh run` until the
#                                        collector has attached and exported, then Ctrl-C;
#                                        `npm install -g .` and `npm start` on Debian 12;
#                                        then the `npm pack` tarball on a Debian 12 root
#                                        that has only nodejs, npm and libbpf1 (no compiler)
#   sudo scripts/clean-room.sh all       both
#
# Downloads are cached in $NETPROBE_CI_CACHE (default /var/cache/netprobe-ci): the
# debootstrapped base roots, apt's .deb files and npm's cache. What a root installs is
# still decided by setup.sh alone: a package it forgets fails here.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${NETPROBE_CI_CACHE:-/var/cache/netprobe-ci}"
work="$(mktemp -d /var/tmp/netprobe-clean-room.XXXXXX)"
mode="${1:-all}"
run_timeout="${NETPROBE_CLEAN_ROOM_RUN_TIMEOUT:-1500}"   # seconds for setup + first export
roots=()

log() { printf '\n=== clean-room %s: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'clean-room: %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "run as root (it makes chroots and loads BPF programs)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v bpftool >/dev/null || die "bpftool is missing: apt-get install bpftool"

# Every mount under a root goes before the root does; a root with a mount left is never deleted.
unmount_all() {
  local root="$1" m
  for _ in 1 2 3; do
    mapfile -t mounts < <(awk -v r="$root/" 'index($2 "/", r) == 1 { print $2 }' /proc/self/mounts | sort -r)
    (( ${#mounts[@]} )) || return 0
    for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
  done
  awk -v r="$root/" 'index($2 "/", r) == 1 { found = 1 } END { exit !found }' /proc/self/mounts && return 1
  return 0
}

# Every process whose root directory is `root` (what a check left running, or timed out).
kill_in_root() {
  local root="$1" p
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/root" 2>/dev/null)" == "$root" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  return 0
}

cleanup() {
  local root
  for root in "${roots[@]}"; do
    kill_in_root "$root"
    if unmount_all "$root"; then rm -rf --one-file-system "$root"; else echo "clean-room: mounts left under $root; not deleting it" >&2; fi
  done
  rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT

# A base root per suite, made once and kept as a tarball (in BASE): later runs unpack it in
# seconds. Sets globals instead of printing, so that `roots` (for cleanup) is never changed
# in a subshell.
base_tarball() {
  local suite="$1" tarball="$cache/base-$suite-minbase.tar"
  if [[ ! -s "$tarball" ]]; then
    local mirror tmp
    mirror="$(bash "$repo/scripts/debian-mirror.sh")"
    tmp="$work/base-$suite"
    roots+=("$tmp")
    log "debootstrap --variant=minbase $suite (first run only; cached in $tarball)"
    debootstrap --variant=minbase "$suite" "$tmp" "$mirror" > "$work/debootstrap-$suite.log" 2>&1 \
      || { tail -20 "$work/debootstrap-$suite.log" >&2; die "debootstrap $suite failed"; }
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
    mkdir -p "$cache"
    tar -C "$tmp" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  fi
  BASE="$tarball"
}

# A fresh root of `suite` named `name`, trusting this machine's CAs (a TLS-inspecting proxy
# would otherwise fail npm), with the kernel's file systems and the download caches mounted.
# Sets ROOT.
new_root() {
  local suite="$1" name="$2" root
  base_tarball "$suite"
  root="$work/$name"
  roots+=("$root")
  mkdir -p "$root"
  tar -C "$root" -xf "$BASE"
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # A throwaway root needs no fsync per file: dpkg installs several times faster.
  echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/netprobe-clean-room-unsafe-io"
  # debootstrap writes no /etc/hosts; every installed Debian has one that names localhost.
  [[ -s "$root/etc/hosts" ]] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
  mount -t proc proc "$root/proc"
  for fs in sys dev; do mount --rbind "/$fs" "$root/$fs"; mount --make-rslave "$root/$fs"; done
  mkdir -p "$cache/apt-$name" "$cache/npm" "$cache/test-backends" "$root/root/.npm" "$root/var/cache/netprobe-test"
  mount --bind "$cache/apt-$name" "$root/var/cache/apt/archives"
  mount --bind "$cache/npm" "$root/root/.npm"
  mount --bind "$cache/test-backends" "$root/var/cache/netprobe-test"
  mkdir -p "$root/src"
  git clone -q "$repo" "$root/src/netprobe"
  ROOT="$root"
}

# Runs a command in a root as a person would in a fresh root shell: clean environment.
root_env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  LANG=C.UTF-8 TERM=dumb CI="${CI:-}" NETPROBE_CACHE=/var/cache/netprobe-test)
in_root() {
  local root="$1"; shift
  chroot "$root" /usr/bin/env -i "${root_env[@]}" "$@"
}

# Ids of the BPF programs that processes inside `root` hold through a program or link fd
# (the kernel names them in /proc/PID/fdinfo); other programs on the machine are not ours.
programs_held_in_root() {
  local root="$1" p fd
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/root" 2>/dev/null)" == "$root" ]] || continue
    for fd in "$p"/fd/*; do
      case "$(readlink "$fd" 2>/dev/null)" in
        anon_inode:bpf-prog|anon_inode:bpf_link|anon_inode:bpf-link) awk '$1 == "prog_id:" { print $2 }' "$p/fdinfo/${fd##*/}" 2>/dev/null ;;
      esac
    done
  done | sort -un
}

# Starts `command` in `root`, waits until its output shows an attached probe and a first
# export from the debug exporter, then sends SIGINT and expects exit 0 with nothing left
# attached.
run_until_first_export() {
  local root="$1" label="$2" ok_exit="0"; shift 2
  # npm itself exits 130 after Ctrl-C (it was interrupted too); the collector's own exit is in its log.
  if [[ "$1" == --npm ]]; then ok_exit="0|130"; shift; fi
  local out="$work/$label.out" pid deadline
  log "$label: $*"
  # Its own process group, led by $! (setsid and chroot exec in place), so that SIGINT to the
  # group reaches every process in it as Ctrl-C in a terminal does (npm start: npm, sh, node).
  ( exec setsid chroot "$root" /usr/bin/env -i "${root_env[@]}" "$@" ) > "$out" 2>&1 &
  pid=$!
  deadline=$(( SECONDS + run_timeout ))
  until grep -q 'attached' "$out" && grep -qE '^debug: (metrics|network over)' "$out"; do
    if ! kill -0 "$pid" 2>/dev/null; then tail -40 "$out" >&2; die "$label: exited before its first export"; fi
    if (( SECONDS > deadline )); then kill_in_root "$root"; tail -40 "$out" >&2; die "$label: no export within ${run_timeout}s"; fi
    sleep 1
  done
  local held; held="$(programs_held_in_root "$root" | tr '\n' ' ')"
  [[ -n "${held// }" ]] || die "$label: its output says attached, but no process in the root holds a BPF program"
  kill -INT -- "-$pid"
  local rc=0
  wait "$pid" || rc=$?
  sed -n '/attached/,$p' "$out" | head -25
  [[ "$rc" =~ ^($ok_exit)$ ]] || { tail -20 "$out" >&2; die "$label: exit $rc after Ctrl-C"; }
  local id left=""
  for id in $held; do bpftool prog show id "$id" >/dev/null 2>&1 && left+="$id "; done
  [[ -z "$left" ]] || die "$label: BPF programs $left are still loaded after it exited"
  log "$label: attached (programs $held), exported, exited 0 on Ctrl-C, none of its programs left loaded"
}

check_test() {
  new_root bookworm test-bookworm
  local root="$ROOT"
  log "Debian 12: scripts/setup.sh test"
  in_root "$root" bash -c 'cd /src/netprobe && scripts/setup.sh test' 2>&1 | tee "$work/test.out"
  test_totals="$(grep -E '^tests: [0-9]+ passed' "$work/test.out" | tail -1)"
}

check_run() {
  local root12 root13 rootp tgz
  new_root bookworm run-bookworm; root12="$ROOT"
  run_until_first_export "$root12" "debian12-setup-run" bash -c 'cd /src/netprobe && exec scripts/setup.sh run'

  log "Debian 12: npm install -g . gives a working netprobe command; npm start runs the collector"
  in_root "$root12" bash -c 'cd /src/netprobe && npm install -g . --no-audit --no-fund --loglevel=error >/dev/null && netprobe validate --config collector.yaml'
  run_until_first_export "$root12" "debian12-npm-start" --npm bash -c 'cd /src/netprobe && exec npm start --silent'

  log "Debian 12: npm pack"
  in_root "$root12" bash -c 'cd /src/netprobe && npm pack --silent --pack-destination /src >/dev/null'
  tgz="$(cd "$root12/src" && ls netprobe-*.tgz | head -1)"
  [[ -n "$tgz" ]] || die "npm pack wrote no tarball"
  tar -tzf "$root12/src/$tgz" | grep -q 'package/dist/plugins/flow-stats/flow_stats.bpf.o' || die "$tgz lacks the compiled BPF objects"
  if tar -tzf "$root12/src/$tgz" | grep -qE '\.test\.js$|/testdata/'; then die "$tgz ships test code"; fi
  log "$tgz: $(du -k "$root12/src/$tgz" | cut -f1) KiB"

  new_root trixie run-trixie; root13="$ROOT"
  run_until_first_export "$root13" "debian13-setup-run" bash -c 'cd /src/netprobe && exec scripts/setup.sh run'

  new_root bookworm tarball-bookworm; rootp="$ROOT"
  log "Debian 12 with only nodejs, npm and libbpf1: npm install -g $tgz"
  in_root "$rootp" bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm libbpf1 ca-certificates >/dev/null'
  if in_root "$rootp" bash -c 'command -v clang || command -v gcc || command -v cc'; then die "the tarball root has a compiler"; fi
  cp "$root12/src/$tgz" "$rootp/src/"
  in_root "$rootp" npm install -g "/src/$tgz" --no-audit --no-fund --loglevel=error
  run_until_first_export "$rootp" "tarball-netprobe-run" bash -c 'exec netprobe run --config "$(npm root -g)/netprobe/collector.yaml"'
}

started=$SECONDS
case "$mode" in
  test) check_test ;;
  run) check_run ;;
  all) check_test; check_run ;;
  *) die "usage: $0 test|run|all" ;;
esac
log "done in $(( SECONDS - started ))s"
# The test runner's totals close the output, after the run checks' own lines.
[[ -z "${test_totals:-}" ]] || echo "$test_totals"
