#!/usr/bin/env bash
# Downloads Debian's own kernel packages for the kernel matrix (scripts/kernels/run-matrix.js)
# and unpacks them into the cache: <cache>/kernels/<suite>/{vmlinuz,modules/,config,version}.
# The system's apt configuration is not touched: a private apt config per suite, with the
# mirror taken from the host's own apt sources (no registry host name lives in this repo).
#
#   scripts/kernels/fetch-kernels.sh [suite...]     default: bullseye bookworm trixie
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${NETPROBE_CACHE:-$root/.cache}/kernels"
suites=("$@")
(( ${#suites[@]} )) || suites=(bullseye bookworm trixie)

# The Debian mirror the host already uses (deb822 .sources first, then one-line .list files).
host_mirror() {
  local uri
  uri="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)"
  [[ -n "$uri" ]] || uri="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    grep -v -- '-security' | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}' | head -n1 || true)"
  [[ -n "$uri" ]] || { echo "fetch-kernels: no Debian mirror found in the host's apt sources" >&2; exit 1; }
  echo "$uri"
}
mirror="$(host_mirror)"

for suite in "${suites[@]}"; do
  out="$cache/$suite"
  if [[ -f "$out/vmlinuz" && -d "$out/modules" && -f "$out/version" ]]; then
    echo "fetch-kernels: $suite ready ($(cat "$out/version"))"; continue
  fi
  apt_dir="$cache/apt/$suite"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$out"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$apt_dir/sources.list"
  apt_opts=(
    -o "APT::Sandbox::User=root"
    -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
    -o "Dir::State::Status=/dev/null" -o "APT::Get::List-Cleanup=0"
  )
  apt-get "${apt_opts[@]}" -qq update
  # linux-image-amd64 is the suite's metapackage; its dependency names the current kernel.
  pkg="$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
  [[ -n "$pkg" ]] || { echo "fetch-kernels: $suite: no linux-image-amd64 dependency found" >&2; exit 1; }
  # Some suites ship the signed image under -unsigned's name: take whichever the metapackage names.
  rm -rf "$out/debs" "$out/root"; mkdir -p "$out/debs" "$out/root"
  (cd "$out/debs" && apt-get "${apt_opts[@]}" -qq download "$pkg")
  for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/root"; done
  version="$(ls "$out/root/lib/modules" 2>/dev/null || ls "$out/root/usr/lib/modules")"
  mods="$out/root/lib/modules/$version"; [[ -d "$mods" ]] || mods="$out/root/usr/lib/modules/$version"
  cp "$out/root/boot/vmlinuz-$version" "$out/vmlinuz"
  cp "$out/root/boot/config-$version" "$out/config"
  rm -rf "$out/modules"; mv "$mods" "$out/modules"
  rm -rf "$out/root" "$out/debs"
  echo "$version" > "$out/version"
  echo "fetch-kernels: $suite ready ($version, BTF: $(grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$out/config" && echo yes || echo no))"
done
