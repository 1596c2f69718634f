#!/usr/bin/env bash
# Builds the initramfs that boots a cached Debian kernel (see fetch-kernels.sh) into the
# host's own root, shared read-only over 9p as virtme-ng does:
#   busybox (static) + the modules needed to reach the root and run the tests, decompressed
#   and listed in load order (dependencies from each module's own modinfo) + init.sh.
#
#   scripts/kernels/make-initramfs.sh <suite>   ->  <cache>/kernels/<suite>/initramfs.cpio.gz
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suite="${1:?usage: make-initramfs.sh <suite>}"
kdir="${NETPROBE_CACHE:-$root/.cache}/kernels/$suite"
out="$kdir/initramfs.cpio.gz"
busybox="$(command -v busybox || true)"
# The initramfs has no libc: only a static busybox works there.
[[ -n "$busybox" ]] && ! ldd "$busybox" >/dev/null 2>&1 ||
  { echo "make-initramfs: a static busybox is missing (package busybox-static): scripts/setup.sh kernels installs it" >&2; exit 1; }
[[ -d "$kdir/modules" ]] || { echo "make-initramfs: no kernel for $suite: run fetch-kernels.sh $suite" >&2; exit 1; }
if [[ -f "$out" && "$out" -nt "$here/init.sh" && "$out" -nt "$0" ]]; then exit 0; fi

# Virtio PCI + 9p to reach the root; veth, clsact and cls_bpf for the tests (classic TC);
# nf_tables (+ nft_compat, xt_tcpudp) for the tests' DROP rules: the host's iptables is the nft
# one, and without them it fails in a guest with "Failed to initialize nft: Protocol not supported".
# crc32c_generic first: libcrc32c (which nf_tables needs) fails to load without a crc32c
# algorithm, which it names only as a soft dependency (no modprobe in the initramfs to fetch it).
# nft_counter: iptables-nft puts a counter in every rule; a module on 5.10 (built in later),
# without it a rule fails with "RULE_INSERT failed (No such file or directory)".
wanted=(virtio_pci 9pnet_virtio 9p veth sch_ingress cls_bpf crc32c_generic nf_tables nft_compat xt_tcpudp nft_counter)
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,newroot,modules}
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$here/init.sh" "$stage/init"
chmod +x "$stage/init"

# Depth-first over each module's own "depends=" (its .modinfo), so a module comes after what it
# needs (Debian ships no modules.dep: depmod writes it at install time). Built-ins have no file.
declare -A seen=()
: > "$stage/modules/order"
visit() {
  local name="$1" file base dep
  [[ -n "${seen[$name]:-}" ]] && return 0
  seen[$name]=1
  file="$(find "$kdir/modules/kernel" -regex ".*/$(echo "$name" | sed 's/[-_]/[-_]/g')\.ko\(\.[a-z]+\)?" | head -n1)"
  [[ -n "$file" ]] || return 0
  base="$name.ko"
  case "$file" in
    *.ko.xz) xz -dc "$file" > "$stage/modules/$base" ;;
    *.ko.zst) zstd -qdc "$file" > "$stage/modules/$base" ;;
    *.ko.gz) gzip -dc "$file" > "$stage/modules/$base" ;;
    *) cp "$file" "$stage/modules/$base" ;;
  esac
  for dep in $(tr '\0' '\n' < "$stage/modules/$base" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '); do
    visit "$dep"
  done
  echo "$base" >> "$stage/modules/order"
}
for m in "${wanted[@]}"; do visit "$m"; done
(cd "$stage" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
echo "make-initramfs: $suite: $(wc -l < "$stage/modules/order") modules -> $out"
