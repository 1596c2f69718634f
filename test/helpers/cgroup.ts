/**
 * A cgroup v2 the test creates under the hierarchy's root and removes afterwards;
 * commands run in it (and in a test namespace) move themselves in before they start.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { cgroupV2Root } from '../../core/net/cgroup';
import type { TestNet } from './netns';

let serial = 0;
/** The shell moves itself into the cgroup, then becomes the command. */
const ENTER = 'echo $$ > "$0/cgroup.procs" && exec "$@"';

export class TestCgroup {
  private constructor(
    /** Path inside the cgroup v2 hierarchy, e.g. `/netprobe-test-123-1` (what probe configs take). */
    readonly path: string,
    /** Its directory in the cgroup v2 mount. */
    readonly dir: string,
  ) {}

  static create(): TestCgroup {
    const root = cgroupV2Root();
    if (!root) throw new Error('cgroup v2 is not mounted');
    const name = `/netprobe-test-${process.pid}-${++serial}`;
    const cgroup = new TestCgroup(name, path.join(root, name));
    fs.mkdirSync(cgroup.dir);
    return cgroup;
  }

  /** A cgroup below this one (removed by the caller before this one). */
  child(name: string): TestCgroup {
    const child = new TestCgroup(`${this.path}/${name}`, path.join(this.dir, name));
    fs.mkdirSync(child.dir);
    return child;
  }

  /** Runs a command in namespace `ns`, inside this cgroup, and returns its stdout. */
  exec(net: TestNet, ns: string, args: string[], input?: string): string {
    return net.execKeepingMounts(ns, ['sh', '-c', ENTER, this.dir, ...args], input);
  }

  /** Starts a long-running command in namespace `ns`, inside this cgroup; killed at net.cleanup(). */
  spawn(net: TestNet, ns: string, args: string[]): ChildProcess {
    return net.spawnKeepingMounts(ns, ['sh', '-c', ENTER, this.dir, ...args]);
  }

  /** Kills what is left in it and removes it (a cgroup with processes cannot be removed). */
  remove(): void {
    if (!fs.existsSync(this.dir)) return;
    try {
      fs.writeFileSync(path.join(this.dir, 'cgroup.kill'), '1');
    } catch {
      // cgroup.kill needs Linux 5.14; the namespaces' cleanup kills our children anyway
    }
    for (let i = 0; i < 50; i++) {
      try {
        fs.rmdirSync(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    fs.rmdirSync(this.dir);
  }
}
