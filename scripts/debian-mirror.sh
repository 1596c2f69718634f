#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses (so nothing here names a
# registry host): the first URI of a "debian" archive in /etc/apt/sources.list or
# /etc/apt/sources.list.d/*.sources|*.list, skipping security and third-party archives.
set -euo pipefail
{
  cat /etc/apt/sources.list 2>/dev/null || true
  cat /etc/apt/sources.list.d/*.list 2>/dev/null || true
  # deb822 files: one "URIs:" per stanza, joined with its "Suites:" so both can be matched.
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk '/^URIs:/{u=$2} /^Suites:/{s=$2} /^$/{if(u)print "deb " u " " s; u=""; s=""} END{if(u)print "deb " u " " s}' "$f"
  done
} | awk '$1=="deb" {
    for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { uri=$i; suite=$(i+1); break }
    if (uri ~ /\/debian\/?$/ && suite !~ /-security|-updates|-backports/) { sub(/\/$/, "", uri); print uri; exit }
  }' | grep . || { echo "debian-mirror: no Debian archive found in /etc/apt/sources*" >&2; exit 1; }
