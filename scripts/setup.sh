#!/usr/bin/env bash
# One-step setup on Debian/Ubuntu, then run the collector or the tests.
#
#   sudo scripts/setup.sh run [netprobe run options]   install, build, run with ./collector.yaml
#   sudo scripts/setup.sh test                         install (test tools too), build, run every test
#   sudo scripts/setup.sh kernels [matrix options]     install (test tools, qemu too), build, run the kernel matrix
#
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
mode="${1:-}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

case "$mode" in
  run|test|kernels) ;;
  *) echo "usage: sudo $0 run|test|kernels" >&2; exit 2 ;;
esac
if [[ "$(id -u)" != 0 ]]; then
  echo "netprobe setup: run as root (loading BPF programs and installing packages need it): sudo $0 $mode" >&2
  exit 1
fi

# Runtime: libbpf; build: clang and headers; tests: bpftool, iproute2, protoc, capture and DNS tools, tmux (drives `netprobe top`),
# and what builds and checks deploy/ (container image, systemd unit).
packages=(libbpf1 clang llvm libbpf-dev linux-libc-dev iproute2 procps util-linux ca-certificates)
if [[ "$mode" == test || "$mode" == kernels ]]; then
  packages+=(bpftool tcpdump tshark bind9-dnsutils dnsmasq-base protobuf-compiler iputils-ping ethtool iptables dpkg apt tmux)
  # deploy/: the container image (debootstrap, buildah, podman with runc) and the systemd unit (systemd-analyze).
  packages+=(debootstrap debian-archive-keyring buildah podman runc systemd)
fi
if [[ "$mode" == kernels ]]; then
  # Guests boot Debian's kernels under qemu on this root, shared over 9p, from a busybox initramfs.
  packages+=(qemu-system-x86 busybox-static xz-utils)
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "netprobe setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

if [[ "$mode" == test ]]; then
  bash scripts/fetch-test-backends.sh
  exec node scripts/run-tests.js   # built just above (npm test would build again)
fi
if [[ "$mode" == kernels ]]; then
  bash scripts/fetch-test-backends.sh
  exec node scripts/kernels/run-matrix.js "$@"
fi
exec node dist/cli/netprobe.js run --config collector.yaml "$@"
