/**
 * A BPF object through its phases: open (parse the ELF, nothing in the kernel yet),
 * configure (`const volatile` knobs, map sizes), load (verifier), then hand out
 * programs and maps. close() releases everything and is safe to call twice.
 */
import { libbpf, koffi, lastErrno, describeErrno, type Pointer } from './libbpf';
import { Btf } from './btf';
import { BpfMap } from './map';
import { StructLayout, writeInt } from './layout';
import { BpfLoadError, NetprobeError } from '../errors';
import { createLogger } from '../log';

const log = createLogger('libbpf');

/** libbpf's messages during one operation, kept so a failure can carry them. */
let capture: string[] | undefined;
let printCallback: unknown;

/** Routes libbpf's own printing to our logger (and to an open capture) instead of stderr. */
function installPrintHandler(): void {
  if (printCallback) return;
  const lib = libbpf();
  // Large enough for a whole verifier log, whose end (the actual error) is what matters.
  const scratch = Buffer.alloc(1 << 20);
  printCallback = koffi.register((level: number, fmt: string, args: Pointer) => {
    const n = lib.vsnprintf(scratch, scratch.length, fmt, args) as number;
    const text = scratch.toString('utf8', 0, Math.max(0, Math.min(n, scratch.length - 1)));
    if (capture) capture.push(text);
    // libbpf levels: 0 warn, 1 info, 2 debug.
    const line = text.replace(/\n$/, '');
    if (level === 0) log.debug(line); // surfaced through errors; keep stderr quiet otherwise
    return 0;
  }, koffi.pointer(lib.printFn));
  lib.libbpf_set_print(printCallback);
}

function captured<T>(fn: () => T): { result: T; output: string } {
  const previous = capture;
  capture = [];
  try {
    const result = fn();
    return { result, output: capture.join('') };
  } finally {
    capture = previous;
  }
}

export class BpfObject {
  private handle: Pointer;
  private loaded = false;
  readonly btf: Btf;
  private readonly maps = new Map<string, BpfMap>();

  private constructor(readonly path: string, handle: Pointer) {
    this.handle = handle;
    const lib = libbpf();
    const btfPtr = lib.bpf_object__btf(handle) as Pointer;
    if (!btfPtr) throw new NetprobeError('NETPROBE_ERR_BPF_OPEN', `${path} has no BTF (build with clang -g)`);
    const size = [0];
    const raw = lib.btf__raw_data(btfPtr, size) as Pointer;
    this.btf = new Btf(Buffer.from(koffi.view(raw, size[0]!)));
  }

  static open(path: string): BpfObject {
    installPrintHandler();
    const lib = libbpf();
    const { result: handle, output } = captured(() => lib.bpf_object__open_file(path, null) as Pointer);
    if (!handle) {
      const errno = lastErrno();
      throw new NetprobeError('NETPROBE_ERR_BPF_OPEN', `opening ${path}: ${describeErrno(errno)}${output ? `\n${output.trim()}` : ''}`);
    }
    return new BpfObject(path, handle);
  }

  /** Sets a `const volatile` variable in .rodata. Only before load(). */
  setKnob(name: string, value: number | readonly number[]): void {
    this.assertState(false, `setting ${name}`);
    const v = this.btf.findVar('.rodata', name);
    if (!v) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `${this.path}: no const volatile variable ${name} in .rodata`);
    const rodata = this.internalMap('.rodata');
    const size = [0];
    const ptr = libbpf().bpf_map__initial_value(rodata, size) as Pointer;
    const mem = Buffer.from(koffi.view(ptr, size[0]!));
    const t = this.btf.resolve(v.type);
    if (Array.isArray(value)) {
      const elemSize = t.array ? this.btf.sizeOf(t.array.type) : 0;
      const capacity = t.array?.nelems ?? 0;
      if (!elemSize || value.length > capacity) {
        throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `${name}: ${value.length} values do not fit (capacity ${capacity})`);
      }
      mem.fill(0, v.offset, v.offset + v.size);
      value.forEach((x, i) => writeInt(mem, v.offset + i * elemSize, elemSize, x));
    } else {
      writeInt(mem, v.offset, v.size, value as number);
    }
  }

  /** Leaves a program out of load() (e.g. one the kernel cannot verify). Only before load(). */
  skipProgram(name: string): void {
    this.assertState(false, `leaving out ${name}`);
    const lib = libbpf();
    for (let p = lib.bpf_object__next_program(this.handle, null) as Pointer; p; p = lib.bpf_object__next_program(this.handle, p) as Pointer) {
      if (lib.bpf_program__name(p) === name) {
        lib.bpf_program__set_autoload(p, false);
        return;
      }
    }
    throw new NetprobeError('NETPROBE_ERR_BPF_OPEN', `${this.path}: no program named ${name}`);
  }

  /** Length of a `const volatile` array knob, from BTF. */
  knobCapacity(name: string): number {
    const v = this.btf.findVar('.rodata', name);
    const t = v && this.btf.resolve(v.type);
    if (!t?.array) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `${this.path}: ${name} is not an array in .rodata`);
    return t.array.nelems;
  }

  /** Resizes a map before load (e.g. a table sized from the config). */
  setMaxEntries(mapName: string, entries: number): void {
    this.assertState(false, `resizing ${mapName}`);
    const err = libbpf().bpf_map__set_max_entries(this.mapPointer(mapName), entries) as number;
    if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `resizing ${mapName} to ${entries}: ${describeErrno(err)}`);
  }

  /** Loads every program into the kernel; a verifier rejection carries the verifier's log. */
  load(): void {
    this.assertState(false, 'loading');
    this.adaptXdpFrags();
    const { result: err, output } = captured(() => libbpf().bpf_object__load(this.handle) as number);
    if (err < 0) {
      if (KERNEL_BTF_MISSING.test(output)) {
        throw new NetprobeError('NETPROBE_ERR_BPF_LOAD', `loading ${this.path}: the kernel has no BTF (/sys/kernel/btf/vmlinux), `
          + 'which this program needs to read kernel structures (CO-RE): use a kernel built with CONFIG_DEBUG_INFO_BTF=y');
      }
      const program = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(output)?.[1];
      throw new BpfLoadError(`loading ${this.path}${program ? ` (program ${program})` : ''}: ${describeErrno(err)}`, extractVerifierLog(output), program);
    }
    this.loaded = true;
  }

  /**
   * XDP programs of objects built with bpf/netprobe.h (they have the np_xdp_frags knob) are
   * multi-buffer aware: loaded with BPF_F_XDP_HAS_FRAGS where the kernel has it (5.18+),
   * else without, and told so through the knob.
   */
  private adaptXdpFrags(): void {
    if (!this.btf.findVar('.rodata', 'np_xdp_frags')) return;
    const lib = libbpf();
    const xdp: Pointer[] = [];
    for (let p = lib.bpf_object__next_program(this.handle, null) as Pointer; p; p = lib.bpf_object__next_program(this.handle, p) as Pointer) {
      if (lib.bpf_program__type(p) === BPF_PROG_TYPE_XDP) xdp.push(p);
    }
    if (xdp.length === 0) return;
    if (!kernelHasXdpFrags()) {
      this.setKnob('np_xdp_frags', 0);
      return;
    }
    for (const p of xdp) lib.bpf_program__set_flags(p, (lib.bpf_program__flags(p) as number) | BPF_F_XDP_HAS_FRAGS);
  }

  programFd(name: string): number {
    this.assertState(true, `getting program ${name}`);
    const lib = libbpf();
    for (let p = lib.bpf_object__next_program(this.handle, null) as Pointer; p; p = lib.bpf_object__next_program(this.handle, p) as Pointer) {
      if (lib.bpf_program__name(p) === name) return lib.bpf_program__fd(p) as number;
    }
    throw new NetprobeError('NETPROBE_ERR_BPF_OPEN', `${this.path}: no program named ${name}`);
  }

  /** Every program of the object that the kernel loaded (autoload off: none). */
  programs(): Array<{ name: string; fd: number }> {
    if (!this.handle || !this.loaded) return [];
    const lib = libbpf();
    const out: Array<{ name: string; fd: number }> = [];
    for (let p = lib.bpf_object__next_program(this.handle, null) as Pointer; p; p = lib.bpf_object__next_program(this.handle, p) as Pointer) {
      const fd = lib.bpf_program__fd(p) as number;
      if (fd >= 0) out.push({ name: lib.bpf_program__name(p) as string, fd });
    }
    return out;
  }

  /** Program names in the object, without loading it (e.g. to recognise ours among the kernel's). */
  programNames(): string[] {
    const lib = libbpf();
    const out: string[] = [];
    for (let p = lib.bpf_object__next_program(this.handle, null) as Pointer; p; p = lib.bpf_object__next_program(this.handle, p) as Pointer) {
      out.push(lib.bpf_program__name(p) as string);
    }
    return out;
  }

  map(name: string): BpfMap {
    this.assertState(true, `getting map ${name}`);
    let m = this.maps.get(name);
    if (!m) {
      m = new BpfMap(name, this.mapPointer(name), this.btf);
      this.maps.set(name, m);
    }
    return m;
  }

  /** Layout of a struct declared in the program's C headers. */
  layout(structName: string): StructLayout {
    return StructLayout.fromBtf(this.btf, structName);
  }

  close(): void {
    if (!this.handle) return;
    libbpf().bpf_object__close(this.handle);
    this.handle = 0n;
    this.maps.clear();
  }

  private mapPointer(name: string): Pointer {
    const lib = libbpf();
    for (let m = lib.bpf_object__next_map(this.handle, null) as Pointer; m; m = lib.bpf_object__next_map(this.handle, m) as Pointer) {
      if (lib.bpf_map__name(m) === name) return m;
    }
    throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `${this.path}: no map named ${name}`);
  }

  private internalMap(suffix: string): Pointer {
    const lib = libbpf();
    for (let m = lib.bpf_object__next_map(this.handle, null) as Pointer; m; m = lib.bpf_object__next_map(this.handle, m) as Pointer) {
      if (lib.bpf_map__is_internal(m) && (lib.bpf_map__name(m) as string).endsWith(suffix)) return m;
    }
    throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `${this.path}: no ${suffix} section`);
  }

  private assertState(loaded: boolean, what: string): void {
    if (!this.handle) throw new NetprobeError('NETPROBE_ERR_BPF_OPEN', `${what}: ${this.path} is closed`);
    if (this.loaded !== loaded) {
      throw new NetprobeError('NETPROBE_ERR_BPF_OPEN', `${what}: only possible ${loaded ? 'after' : 'before'} load`);
    }
  }
}

const BPF_F_XDP_HAS_FRAGS = 1 << 5;
const BPF_PROG_TYPE_XDP = 6;
const BPF_FUNC_xdp_get_buff_len = 188;
let xdpFrags: boolean | undefined;

/** Whether the kernel has multi-buffer XDP (5.18+): probed once, by loading a tiny program. */
function kernelHasXdpFrags(): boolean {
  // 1: supported, 0: not; an error (e.g. no permission) counts as supported, and load() reports it.
  xdpFrags ??= (libbpf().libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_get_buff_len, null) as number) !== 0;
  return xdpFrags;
}

/** What libbpf says when a program has CO-RE relocations and the kernel offers no BTF to resolve them. */
const KERNEL_BTF_MISSING = /failed to find valid kernel BTF|Error loading vmlinux BTF/;

/** libbpf wraps the verifier's output in BEGIN/END markers; keep just that when present. */
function extractVerifierLog(output: string): string {
  const match = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(output);
  return (match ? match[1]! : output).trim();
}
