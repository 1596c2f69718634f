/** Network interfaces as sysfs describes them (no kernel calls, no privileges). */
import fs from 'node:fs';
import path from 'node:path';

const SYS_NET = '/sys/class/net';
const IFF_UP = 0x1;
const ARPHRD_LOOPBACK = 772;

export interface InterfaceInfo {
  name: string;
  index: number;
  up: boolean;
  loopback: boolean;
  /** Kernel driver name (e.g. veth, virtio_net), if the device has one. */
  driver?: string;
}

function readNumber(file: string): number | undefined {
  try {
    const value = Number(fs.readFileSync(file, 'utf8').trim()); // decimal, or 0x... for flags
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function listInterfaces(): InterfaceInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(SYS_NET);
  } catch {
    return [];
  }
  return names.sort().map((name) => {
    const dir = path.join(SYS_NET, name);
    let driver: string | undefined;
    try {
      driver = path.basename(fs.readlinkSync(path.join(dir, 'device', 'driver')));
    } catch {
      driver = interfaceKind(name);
    }
    return {
      name,
      index: readNumber(path.join(dir, 'ifindex')) ?? 0,
      up: ((readNumber(path.join(dir, 'flags')) ?? 0) & IFF_UP) !== 0,
      loopback: readNumber(path.join(dir, 'type')) === ARPHRD_LOOPBACK,
      driver,
    };
  });
}

/** Virtual devices have no device/driver link; uevent's DEVTYPE names their kind (veth, bridge, ...). */
function interfaceKind(name: string): string | undefined {
  try {
    const uevent = fs.readFileSync(path.join(SYS_NET, name, 'uevent'), 'utf8');
    return /^DEVTYPE=(.+)$/m.exec(uevent)?.[1];
  } catch {
    return undefined;
  }
}

/** `auto`: every interface that is up, except loopback. */
export function autoInterfaces(): string[] {
  return listInterfaces().filter((i) => i.up && !i.loopback).map((i) => i.name);
}
