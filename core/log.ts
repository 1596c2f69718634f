/**
 * The collector's own diagnostic log (stderr), separate from the log records it exports.
 * One line per message: time, level, message, then key=value fields.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

let threshold: LogLevel = parseLevel(process.env.NETPROBE_LOG_LEVEL) ?? 'info';

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

type LogWriter = (line: string, level: LogLevel) => void;
const toStderr: LogWriter = (line) => process.stderr.write(line + '\n');
let writer: LogWriter = toStderr;

/** Sends log lines elsewhere (a full-screen view keeps them off the screen); no argument: back to stderr. */
export function setLogWriter(next: LogWriter = toStderr): void {
  writer = next;
}

function parseLevel(value: string | undefined): LogLevel | undefined {
  return value && value in ORDER ? (value as LogLevel) : undefined;
}

function format(value: unknown): string {
  const text = value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value);
  return /[\s"=]/.test(text ?? '') ? JSON.stringify(text) : String(text);
}

export function createLogger(component?: string): Logger {
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[threshold]) return;
    const parts = [new Date().toISOString(), level.toUpperCase().padEnd(5)];
    if (component) parts.push(`[${component}]`);
    parts.push(msg);
    for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) parts.push(`${k}=${format(v)}`);
    writer(parts.join(' '), level);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (c) => createLogger(component ? `${component}/${c}` : c),
  };
}
