#!/usr/bin/env node
/**
 * Prints the container runtime's default seccomp profile with `bpf` allowed under CAP_BPF and
 * `perf_event_open` under CAP_PERFMON, as Docker and containerd have done since 2022 (moby
 * #43987, containerd #7301). Older podman profiles (containers-common in Debian 12) allow them
 * only with CAP_SYS_ADMIN, which netprobe must not need.
 *
 *   node deploy/container/seccomp-profile.js [/usr/share/containers/seccomp.json] > netprobe-seccomp.json
 *   podman run --security-opt seccomp=netprobe-seccomp.json --cap-drop all --cap-add BPF,NET_ADMIN,PERFMON ...
 */
'use strict';
const fs = require('node:fs');

const GATED = { bpf: 'CAP_BPF', perf_event_open: 'CAP_PERFMON' };

function withBpfCapabilities(profile) {
  const syscalls = [];
  for (const rule of profile.syscalls ?? []) {
    const names = rule.names ?? [rule.name];
    const gated = names.filter((n) => n in GATED);
    // The rule that denies these syscalls to containers without CAP_SYS_ADMIN goes; the default action still denies them to the rest.
    if (gated.length && rule.action !== 'SCMP_ACT_ALLOW') {
      const rest = names.filter((n) => !(n in GATED));
      if (rest.length) syscalls.push({ ...rule, names: rest });
      continue;
    }
    syscalls.push(rule);
  }
  for (const [name, cap] of Object.entries(GATED)) {
    syscalls.push({ names: [name], action: 'SCMP_ACT_ALLOW', args: [], comment: `netprobe: ${name} under ${cap}`, includes: { caps: [cap] }, excludes: {} });
  }
  return { ...profile, syscalls };
}

module.exports = { withBpfCapabilities };

if (require.main === module) {
  const source = process.argv[2] ?? '/usr/share/containers/seccomp.json';
  process.stdout.write(JSON.stringify(withBpfCapabilities(JSON.parse(fs.readFileSync(source, 'utf8'))), null, 2) + '\n');
}
