#!/usr/bin/env bash
# Fetches the test-only components that bookworm lacks, from Debian trixie, without
# touching the system's apt configuration: VictoriaMetrics (a real OTLP backend) and
# opentelemetry-proto (the official .proto files, for protoc --decode).
# They are unpacked with dpkg -x into .cache/debian (nothing is installed system-wide).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${NETPROBE_CACHE:-$root/.cache}/debian"
apt_dir="$cache/apt"
if [[ -x "$cache/root/usr/bin/victoria-metrics" && -d "$cache/root/usr/include/opentelemetry/proto" ]]; then
  exit 0
fi
mirror="$(bash "$root/scripts/debian-mirror.sh")"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$cache/debs" "$cache/root"
cat > "$apt_dir/sources.list" <<SOURCES
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main
SOURCES
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
  -o "Dir::State::Status=/dev/null" -o "APT::Get::List-Cleanup=0"
)
apt-get "${apt_opts[@]}" -qq update
cd "$cache/debs"
apt-get "${apt_opts[@]}" -qq download victoria-metrics opentelemetry-proto
for deb in "$cache"/debs/*.deb; do dpkg -x "$deb" "$cache/root"; done
test -x "$cache/root/usr/bin/victoria-metrics"
echo "test backends ready in $cache/root"
