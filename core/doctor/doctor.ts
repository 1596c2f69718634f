/**
 * `netprobe doctor`: can this machine run the collector? Each check prints
 * OK / WARN / FAIL, and every WARN or FAIL says how to fix it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listInterfaces } from '../net/interfaces';
import { cgroupV2Root } from '../net/cgroup';
import { kernelCostChecks } from './kernel-cost';

export type Status = 'OK' | 'WARN' | 'FAIL';
export interface Check { status: Status; what: string; detail: string; fix?: string }

const CAPS = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 } as const;

export function parseKernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function effectiveCapabilities(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function hasCap(caps: bigint, cap: number): boolean {
  return (caps & (1n << BigInt(cap))) !== 0n;
}

function mounts(): string {
  try {
    return fs.readFileSync('/proc/mounts', 'utf8');
  } catch {
    return '';
  }
}

function kernelCheck(): Check {
  const release = os.release();
  const [major, minor] = parseKernelVersion(release);
  const ok = major > 5 || (major === 5 && minor >= 9);
  return ok
    ? { status: 'OK', what: 'kernel', detail: `${release} (bpf_link for XDP needs 5.9+)` }
    : { status: 'FAIL', what: 'kernel', detail: `${release} is older than 5.9`, fix: 'upgrade to a kernel 5.9 or newer' };
}

function btfCheck(): Check {
  return fs.existsSync('/sys/kernel/btf/vmlinux')
    ? { status: 'OK', what: 'BTF', detail: '/sys/kernel/btf/vmlinux present' }
    : { status: 'WARN', what: 'BTF', detail: '/sys/kernel/btf/vmlinux missing', fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (the conntrack probe needs it; the others run without)' };
}

function bpffsCheck(): Check {
  return /\s\/sys\/fs\/bpf\sbpf\s/.test(mounts())
    ? { status: 'OK', what: 'bpffs', detail: 'mounted at /sys/fs/bpf' }
    : { status: 'WARN', what: 'bpffs', detail: 'not mounted at /sys/fs/bpf (not needed: netprobe pins nothing)', fix: 'mount -t bpf bpf /sys/fs/bpf' };
}

function cgroupCheck(): Check {
  const root = cgroupV2Root(mounts());
  return root
    ? { status: 'OK', what: 'cgroup v2', detail: `mounted at ${root}` }
    : { status: 'WARN', what: 'cgroup v2', detail: 'no cgroup2 mount found (needed by the conntrack probe)', fix: 'mount -t cgroup2 none /sys/fs/cgroup/unified' };
}

function capabilityCheck(): Check {
  let caps = 0n;
  try {
    caps = effectiveCapabilities(fs.readFileSync('/proc/self/status', 'utf8'));
  } catch {
    // leave as none
  }
  const admin = hasCap(caps, CAPS.CAP_SYS_ADMIN);
  const missing = (['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'] as const).filter((c) => !hasCap(caps, CAPS[c]));
  if (admin && hasCap(caps, CAPS.CAP_NET_ADMIN)) return { status: 'OK', what: 'capabilities', detail: 'CAP_SYS_ADMIN and CAP_NET_ADMIN' };
  if (missing.length === 0) return { status: 'OK', what: 'capabilities', detail: 'CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON' };
  return { status: 'FAIL', what: 'capabilities', detail: `missing ${missing.join(', ')}`, fix: 'run as root, or grant CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON (setcap or systemd AmbientCapabilities)' };
}

function libbpfCheck(): Check {
  try {
    // Loaded lazily: doctor must still report when libbpf is absent.
    const { libbpf } = require('../bpf/libbpf') as typeof import('../bpf/libbpf');
    const lib = libbpf();
    const version = `${lib.libbpf_major_version()}.${lib.libbpf_minor_version()}`;
    const [major, minor] = version.split('.').map(Number) as [number, number];
    return major > 1 || (major === 1 && minor >= 1)
      ? { status: 'OK', what: 'libbpf', detail: `libbpf.so.1 version ${version}` }
      : { status: 'FAIL', what: 'libbpf', detail: `version ${version} is older than 1.1`, fix: 'install libbpf 1.1 or newer (Debian/Ubuntu package libbpf1)' };
  } catch (err) {
    return { status: 'FAIL', what: 'libbpf', detail: (err as Error).message, fix: 'apt-get install libbpf1' };
  }
}

/** Tries native XDP on each up interface with the smallest program; detaches at once. */
function interfaceChecks(canLoad: boolean): Check[] {
  const checks: Check[] = [];
  let passProgram: { fd: number; close(): void } | undefined;
  if (canLoad) {
    try {
      const { BpfObject } = require('../bpf/object') as typeof import('../bpf/object');
      const object = BpfObject.open(path.join(__dirname, 'xdp_pass.bpf.o'));
      object.load();
      passProgram = { fd: object.programFd('xdp_pass'), close: () => object.close() };
    } catch (err) {
      checks.push({ status: 'FAIL', what: 'BPF load', detail: (err as Error).message.split('\n')[0]!, fix: 'see the capabilities and kernel checks above' });
    }
  }
  const { attachXdp } = require('../bpf/link') as typeof import('../bpf/link');
  for (const iface of listInterfaces()) {
    const what = `interface ${iface.name}`;
    const driver = iface.driver ?? 'unknown driver';
    if (iface.loopback) {
      checks.push({ status: 'OK', what, detail: `${driver}, loopback (skipped by interfaces: auto)` });
      continue;
    }
    if (!iface.up) {
      checks.push({ status: 'WARN', what, detail: `${driver}, down (skipped by interfaces: auto)`, fix: `ip link set ${iface.name} up` });
      continue;
    }
    if (!passProgram) {
      checks.push({ status: 'WARN', what, detail: `${driver}, up; native XDP not tested (cannot load BPF)` });
      continue;
    }
    try {
      const { link } = attachXdp(passProgram.fd, iface.name, 'native');
      link.close();
      checks.push({ status: 'OK', what, detail: `${driver}, up, native XDP works` });
    } catch (err) {
      const busy = /already attached/.test((err as Error).message);
      checks.push({
        status: 'WARN', what,
        detail: `${driver}, up, native XDP ${busy ? 'busy (another XDP program is attached)' : 'not supported'}; generic mode will be used`,
        fix: busy ? 'detach the other program (bpftool net) or choose other interfaces' : 'generic XDP works everywhere but costs more per packet',
      });
    }
  }
  passProgram?.close();
  return checks;
}

/** `programs`: every netprobe program name -> its probe type, to show what the running ones cost. */
export function runDoctor(programs: ReadonlyMap<string, string> = new Map()): Check[] {
  const checks = [kernelCheck(), btfCheck(), bpffsCheck(), cgroupCheck(), capabilityCheck(), libbpfCheck()];
  const canLoad = checks.every((c) => c.status !== 'FAIL');
  return [...checks, ...interfaceChecks(canLoad), ...(canLoad ? kernelCostChecks(programs) : [])];
}

export function formatChecks(checks: readonly Check[]): string {
  return checks
    .map((c) => `${c.status.padEnd(4)} ${c.what}: ${c.detail}${c.fix && c.status !== 'OK' ? `\n     fix: ${c.fix}` : ''}`)
    .join('\n');
}
