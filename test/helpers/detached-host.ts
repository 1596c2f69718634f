/**
 * A ProbeHost that loads a plugin's real BPF object but attaches nothing: for driving
 * a probe's collection path directly (crafted packets through BPF_PROG_TEST_RUN,
 * benchmarks of collect()). Objects it opened are pushed to `opened` for closing.
 */
import path from 'node:path';
import { BpfObject } from '../../core/bpf/object';
import { numPossibleCpus } from '../../core/bpf/map';
import { ObjectSpec } from '../../core/plugin/object';
import type { ProbeHost, ProbePlugin, SharedFacts } from '../../core/plugin/types';
import { createSharedFacts } from '../../core/facts/shared-facts';
import { KernelBtf } from '../../core/bpf/kernel-btf';

export function detachedHost(plugin: ProbePlugin<any>, opened: BpfObject[], facts: SharedFacts = createSharedFacts()): ProbeHost {
  return {
    openObject: () => {
      const o = BpfObject.open(path.join(plugin.directory, plugin.object));
      opened.push(o);
      return new ObjectSpec(o);
    },
    possibleCpus: numPossibleCpus(),
    interfaces: () => [],
    attachXdp: () => 'generic',
    attachTc: () => 'tcx',
    attachCgroup: () => undefined,
    attachTracepoint: () => undefined,
    kernelTypes: () => KernelBtf.load(),
    kernelSymbol: () => undefined,
    cgroupPath: () => undefined,
    runIterator: () => undefined,
    consumeRingBuffer: () => ({ drain: () => 0 }),
    consumeRingBufferInPlace: () => ({ drain: () => 0 }),
    finished: () => undefined,
    emitEvent: () => undefined,
    facts,
  };
}
