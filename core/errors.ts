/**
 * Errors with stable codes, so that callers and tests can tell failures apart
 * without matching on message text. Messages wrap with short lowercase context
 * ("loading xdp_counter: ..."), outermost first.
 */
export type NetprobeErrorCode =
  | 'NETPROBE_ERR_CONFIG'
  | 'NETPROBE_ERR_BPF_OPEN'
  | 'NETPROBE_ERR_BPF_LOAD'
  | 'NETPROBE_ERR_BPF_LAYOUT'
  | 'NETPROBE_ERR_BPF_MAP'
  | 'NETPROBE_ERR_ATTACH'
  | 'NETPROBE_ERR_PLUGIN';

export class NetprobeError extends Error {
  readonly code: NetprobeErrorCode;

  constructor(code: NetprobeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetprobeError';
    this.code = code;
  }
}

/** The verifier rejected a program: the message is short, `verifierLog` has the whole story. */
export class BpfLoadError extends NetprobeError {
  readonly verifierLog: string;
  /** The program the kernel refused, when libbpf named it. */
  readonly program: string | undefined;

  constructor(message: string, verifierLog: string, program?: string) {
    super('NETPROBE_ERR_BPF_LOAD', verifierLog ? `${message}\n--- verifier log ---\n${verifierLog}` : message);
    this.verifierLog = verifierLog;
    this.program = program;
  }
}

/** Prefixes context to any error's message, keeping its code and cause chain. */
export function wrapError(context: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NetprobeError) {
    const wrapped = new NetprobeError(err.code, `${context}: ${message}`, { cause: err });
    return wrapped;
  }
  return new Error(`${context}: ${message}`, { cause: err });
}
