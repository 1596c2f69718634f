#!/usr/bin/env bash
# Builds the netprobe OCI image without pulling any base image:
#   1. debootstrap --make-tarball: the .debs of a bookworm minbase root with nodejs and libbpf1
#      (downloaded once, from the Debian mirror this machine's apt already uses)
#   2. debootstrap --unpack-tarball + slimming -> rootfs.tar (cached; rebuilt when the package list changes)
#   3. npm run build && npm pack, unpacked with its production dependencies (npm ci --omit=dev)
#   4. buildah build --layers with deploy/container/Containerfile
#
#   sudo deploy/container/build-image.sh [--no-build] [IMAGE]   default IMAGE: localhost/netprobe:<version>
#
# --no-build packs dist/ as it is (the tests use it: they run from dist/, which a build would rewrite).
# Environment: NETPROBE_IMAGE_CACHE (default $NETPROBE_CACHE/image or .cache/image) holds steps 1-2;
# CONTAINERS_ROOT / CONTAINERS_RUNROOT select the containers storage (default: the system's);
# DEBIAN_MIRROR overrides the mirror. Prints how long each step took and the image size.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
build=1
if [[ "${1:-}" == --no-build ]]; then build=0; shift; fi
version="$(node -p 'require("./package.json").version')"
image="${1:-localhost/netprobe:$version}"
cache="${NETPROBE_IMAGE_CACHE:-${NETPROBE_CACHE:-$root/.cache}/image}"
suite=bookworm
packages=nodejs,libbpf1
storage=(--storage-driver vfs)
[[ -n "${CONTAINERS_ROOT:-}" ]] && storage+=(--root "$CONTAINERS_ROOT")
[[ -n "${CONTAINERS_RUNROOT:-}" ]] && storage+=(--runroot "$CONTAINERS_RUNROOT")
mkdir -p "$cache"

step_started=0
step() { step_started=$SECONDS; echo "build-image: $*"; }
done_step() { echo "build-image:   done in $((SECONDS - step_started)) s"; }

mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then echo "$DEBIAN_MIRROR"; else bash "$root/scripts/debian-mirror.sh"; fi
}

key="$suite-minbase-${packages//,/-}"
debs="$cache/$key.debs.tgz"
rootfs="$cache/$key.rootfs.tar"

if [[ ! -s "$debs" ]]; then
  step "1/4 downloading the $suite minbase packages with $packages"
  work="$(mktemp -d)"
  debootstrap --variant=minbase --include="$packages" --make-tarball="$debs.part" "$suite" "$work" "$(mirror)" >/dev/null
  mv "$debs.part" "$debs"
  rm -rf "$work"
  done_step
fi

if [[ ! -s "$rootfs" || "$rootfs" -ot "$debs" ]]; then
  step "2/4 unpacking the root (debootstrap --unpack-tarball) and slimming it"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  debootstrap --variant=minbase --include="$packages" --unpack-tarball="$debs" "$suite" "$work/root" "$(mirror)" >/dev/null
  # What a collector never reads at run time: docs, manuals, translations, apt's caches and logs.
  rm -rf "$work"/root/usr/share/{doc,man,info,locale,lintian}/* "$work"/root/var/cache/apt/* \
    "$work"/root/var/lib/apt/lists/* "$work"/root/var/log/* "$work"/root/var/cache/debconf/*-old
  # Reproducible-ish: no timestamps from this build in the tarball's order.
  tar --numeric-owner --sort=name -C "$work/root" -cf "$rootfs.part" .
  mv "$rootfs.part" "$rootfs"
  rm -rf "$work"
  trap - EXIT
  done_step
fi

step "3/4 npm run build && npm pack, with production dependencies"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
# npm pack builds first (prepack); --no-build skips that and packs dist/ as it is.
pack_options=(--silent --pack-destination "$context")
(( build )) || pack_options+=(--ignore-scripts)
tarball="$(npm pack "${pack_options[@]}" | tail -1)"
mkdir "$context/netprobe"
tar -xzf "$context/$tarball" -C "$context/netprobe" --strip-components=1
rm "$context/$tarball"
cp package-lock.json "$context/netprobe/"
(cd "$context/netprobe" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
rm "$context/netprobe/package-lock.json"
ln "$rootfs" "$context/rootfs.tar" 2>/dev/null || cp "$rootfs" "$context/rootfs.tar"
done_step

step "4/4 buildah build $image"
buildah "${storage[@]}" build --quiet --layers --build-arg VERSION="$version" -f deploy/container/Containerfile -t "$image" "$context" >/dev/null
done_step
size="$(buildah "${storage[@]}" inspect --format '{{.FromImageID}}' "$image" >/dev/null 2>&1; podman "${storage[@]}" image inspect --format '{{.Size}}' "$image")"
echo "build-image: $image, $((size / 1000000)) MB"
