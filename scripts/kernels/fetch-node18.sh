#!/usr/bin/env bash
# Unpacks Debian 12's own Node.js (18.19, what CI has) and the libraries it needs beyond a
# bookworm base into <cache>/node18/root, so the kernel matrix can run its guests with it
# (run-matrix.js --node18). Nothing is installed; the host's apt configuration is untouched.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${NETPROBE_CACHE:-$root/.cache}"
out="$cache/node18"
[[ -x "$out/root/usr/bin/node" ]] && exit 0
# The bookworm apt lists fetch-kernels.sh keeps.
bash "$(dirname "$0")/fetch-kernels.sh" bookworm >/dev/null
apt_dir="$cache/kernels/apt/bookworm"
apt_opts=(
  -o "APT::Sandbox::User=root"
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
  -o "Dir::State::Status=/dev/null"
)
rm -rf "$out"; mkdir -p "$out/debs" "$out/root"
(cd "$out/debs" && apt-get "${apt_opts[@]}" -qq download nodejs libnode108 libc-ares2 libuv1)
for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/root"; done
rm -rf "$out/debs"
# Debian's node finds libnode in the multiarch directory; point the loader at ours.
mv "$out/root/usr/bin/node" "$out/root/usr/bin/node.bin" 2>/dev/null || mv "$out/root/usr/bin/nodejs" "$out/root/usr/bin/node.bin"
cat > "$out/root/usr/bin/node" <<'WRAP'
#!/bin/sh
here="$(dirname "$(readlink -f "$0")")"
export LD_LIBRARY_PATH="$here/../lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$here/node.bin" "$@"
WRAP
chmod +x "$out/root/usr/bin/node"
echo "fetch-node18: $("$out/root/usr/bin/node" --version) in $out/root/usr/bin"
