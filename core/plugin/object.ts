/**
 * The two faces of a probe's BPF object that plugins get (see ProbeObjectSpec and
 * ProbeObject in types.ts): the spec before load, the loaded object after. Both wrap
 * one core/bpf BpfObject, which only core reaches (through loadedBpf()).
 */
import { BpfObject } from '../bpf/object';
import { testRun, runOnCpu, type TestRunOptions, type TestRunResult } from '../bpf/test-run';
import type { StructLayout } from '../bpf/layout';
import { NetprobeError } from '../errors';
import { BtfEnum } from './enum';
import type { ProbeMap, ProbeObject, ProbeObjectSpec } from './types';

function enumOf(object: BpfObject, name: string): BtfEnum {
  const enumerators = object.btf.enumerators(name);
  if (!enumerators) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `${object.path}: enum ${name} not found in BTF (keep it there with NP_EXPORT_ENUM)`);
  return new BtfEnum(name, enumerators);
}

export class ObjectSpec implements ProbeObjectSpec {
  private loadedObject: LoadedObject | undefined;

  constructor(private readonly object: BpfObject) {}

  setKnob(name: string, value: number | readonly number[]): void {
    this.object.setKnob(name, value);
  }

  knobCapacity(name: string): number {
    return this.object.knobCapacity(name);
  }

  setMaxEntries(map: string, entries: number): void {
    this.object.setMaxEntries(map, entries);
  }

  skipProgram(program: string): void {
    this.object.skipProgram(program);
  }

  enum(name: string): BtfEnum {
    return enumOf(this.object, name);
  }

  layout(struct: string): StructLayout {
    return this.object.layout(struct);
  }

  load(): ProbeObject {
    if (this.loadedObject) throw new NetprobeError('NETPROBE_ERR_BPF_LOAD', `${this.object.path} is already loaded`);
    this.object.load();
    this.loadedObject = new LoadedObject(this.object);
    return this.loadedObject;
  }

  close(): void {
    this.object.close();
  }
}

export class LoadedObject implements ProbeObject {
  constructor(readonly bpf: BpfObject) {}

  map(name: string): ProbeMap {
    return this.bpf.map(name);
  }

  layout(struct: string): StructLayout {
    return this.bpf.layout(struct);
  }

  enum(name: string): BtfEnum {
    return enumOf(this.bpf, name);
  }

  testRun(program: string, packet: Buffer, repeat = 1, options: TestRunOptions = {}): TestRunResult {
    return testRun(this.bpf.programFd(program), packet, repeat, options);
  }

  runOnCpu(program: string, cpu: number): number | undefined {
    return runOnCpu(this.bpf.programFd(program), cpu);
  }

  /** Only for objects opened with openProbeObject(): the host closes its own. */
  close(): void {
    this.bpf.close();
  }
}

/** The BpfObject behind a loaded ProbeObject (core only: attaching, ring buffers, iterators). */
export function loadedBpf(object: ProbeObject): BpfObject {
  if (!(object instanceof LoadedObject)) throw new NetprobeError('NETPROBE_ERR_PLUGIN', 'expected an object loaded through the probe host (spec.load())');
  return object.bpf;
}

/**
 * A probe object opened outside any host, for tests and benchmarks that drive a program
 * directly (BPF_PROG_TEST_RUN, a decoder on its BTF); close the loaded object when done.
 */
export function openProbeObject(path: string): ObjectSpec {
  return new ObjectSpec(BpfObject.open(path));
}
