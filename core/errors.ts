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

/**
 * Prefixes context to any error's message, keeping its class (a BpfLoadError stays one,
 * with its verifier log), its code and its cause chain. An error without a code gets
 * `fallback` when one is given (e.g. a plugin's plain Error becomes NETPROBE_ERR_PLUGIN).
 */
export function wrapError(context: string, err: unknown, fallback?: NetprobeErrorCode): Error {
  const message = `${context}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof NetprobeError) {
    const wrapped = Object.create(Object.getPrototypeOf(err) as object) as NetprobeError;
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(err));
    Object.defineProperty(wrapped, 'message', { value: message, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(wrapped, 'cause', { value: err, writable: true, configurable: true, enumerable: false });
    const frames = err.stack?.split('\n').filter((line) => line.startsWith('    at ')) ?? [];
    wrapped.stack = [`${err.name}: ${message}`, ...frames].join('\n');
    return wrapped;
  }
  if (fallback) return new NetprobeError(fallback, message, { cause: err });
  return new Error(message, { cause: err });
}
