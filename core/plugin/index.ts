/**
 * What a probe plugin may import from core: the contract (types.ts: read it first) and the
 * few helpers every probe needs. Plugins never import core/bpf.
 */
export * from './types';
export { BtfEnum, EnumLabels } from './enum';
export { TimeSlice } from './time-slice';
export { decodeProcess, withProcess, PROCESS_ATTRIBUTES, type SocketProcess } from './process';
export { kernelFilterFlags, loadKernelFilters, type KernelFilterConfig, type KernelFilterMaps } from './kernel-filters';
export { NetprobeError, BpfLoadError, type NetprobeErrorCode } from '../errors';
export { readInt } from '../bpf/layout';
export { wallClockOffsetNs } from '../clock';
