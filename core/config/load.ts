/**
 * collector.yaml -> a validated, defaulted, frozen CollectorConfig.
 *
 * Phases: parse YAML, substitute ${env:...}, validate against the collector schema
 * with every plugin's schema merged in (ajv, all errors at once), run the checks a
 * schema cannot express (pipeline references, plugin rules), then freeze.
 * Every problem is reported at once, each with its path (`probes::dns::ports`).
 */
import fs from 'node:fs';
import { parseDocument, LineCounter } from 'yaml';
import { createHash } from 'node:crypto';
import Ajv, { type ErrorObject, type Options } from 'ajv';
import collectorSchema from '../../schemas/collector.schema.json';
import { substituteEnv, type Env, type SubstitutionError } from './env';
import { parseDuration } from './duration';
import { formats } from './formats';
import { formatAjvErrors, formatPath } from './errors';
import { NetprobeError } from '../errors';
import type { ProbePlugin } from '../plugin/types';

export const COMPONENT_ID = /^([a-z][a-z0-9_]*)(?:\/([A-Za-z0-9_.-]+))?$/;

export type Signal = 'metrics' | 'logs';
export interface PipelineConfig {
  probes: string[];
  exporters: string[];
  /** From the pipeline's name (`metrics[/name]`, `logs[/name]`), parsed once when the config is loaded. */
  signal: Signal;
}

/** The signal a pipeline carries, from its name (the schema allows only these two forms). */
export function pipelineSignal(name: string): Signal {
  const signal = name.split('/')[0];
  if (signal !== 'metrics' && signal !== 'logs') throw new NetprobeError('NETPROBE_ERR_CONFIG', `pipeline ${name}: expected a name metrics[/name] or logs[/name]`);
  return signal;
}
export type ExporterType = 'otlp_http' | 'prometheus' | 'debug';

export interface OtlpHttpConfig {
  endpoint?: string;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  timeout?: string;
  compression?: 'none' | 'gzip';
  max_queue_size: number;
}
export interface PrometheusConfig { host: string; port: number }
export interface DebugConfig { verbosity: 'basic' | 'normal' | 'detailed' }

export interface CollectorConfig {
  probes: Record<string, unknown>;
  exporters: Record<string, OtlpHttpConfig | PrometheusConfig | DebugConfig>;
  service: {
    interval: string;
    /** `interval` in milliseconds. */
    intervalMs: number;
    pipelines: Record<string, PipelineConfig>;
    /** kernel_stats: BPF run-time statistics on while running, exported as netprobe.probe.kernel.*. */
    telemetry: { logs: { level: 'debug' | 'info' | 'warn' | 'error' }; kernel_stats: boolean };
  };
}

export class ConfigError extends NetprobeError {
  constructor(readonly source: string, readonly problems: string[]) {
    super('NETPROBE_ERR_CONFIG', `invalid configuration ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** The type part of a component id: `xdp_counter/a` -> `xdp_counter`. */
export function componentType(id: string): string {
  return COMPONENT_ID.exec(id)?.[1] ?? id;
}

/** A collector.yaml is a few kilobytes; anything near this is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Deeper than any real config; bounds the recursion of everything that walks the document. */
export const MAX_CONFIG_DEPTH = 64;
/** Problems listed before "... and N more": enough to fix a file, short enough for a terminal. */
const MAX_PROBLEMS = 20;
const MAX_PROBLEM_CHARS = 200;

/** Reads at most MAX_CONFIG_BYTES + 1 bytes: /dev/zero or a huge file cannot exhaust memory. */
function readConfigText(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new ConfigError(file, [`cannot read file: ${(err as Error).message}`]);
  }
  try {
    if (fs.fstatSync(fd).isDirectory()) throw new ConfigError(file, ['cannot read file: it is a directory']);
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length;) {
      n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      length += n;
    }
    if (length > MAX_CONFIG_BYTES) throw new ConfigError(file, [`file is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; a collector config is a few kilobytes`]);
    if (buffer.subarray(0, length).includes(0)) throw new ConfigError(file, ['not a text file (it contains NUL bytes)']);
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [`cannot read file: ${(err as Error).message}`]);
  } finally {
    fs.closeSync(fd);
  }
}

export function loadConfigFile(file: string, plugins: readonly ProbePlugin[], env: Env = process.env): CollectorConfig {
  return parseConfig(readConfigText(file), file, plugins, env);
}

/** The first MAX_PROBLEMS problems, each on one short line. */
function shortList(problems: string[]): string[] {
  const shown = problems.slice(0, MAX_PROBLEMS).map((p) => (p.length > MAX_PROBLEM_CHARS ? `${p.slice(0, MAX_PROBLEM_CHARS)}...` : p));
  if (problems.length > MAX_PROBLEMS) shown.push(`... and ${problems.length - MAX_PROBLEMS} more`);
  return shown;
}

/** Whether `value` nests deeper than `limit`, walking iteratively (no recursion to overflow). */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > limit) return true;
    if (v && typeof v === 'object') for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * YAML text -> plain data. Hostile input (an alias bomb, nesting deep enough to
 * overflow the parser's stack) becomes a ConfigError like any other mistake.
 */
function parseYaml(text: string, source: string): unknown {
  const lines = new LineCounter();
  try {
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) {
      throw new ConfigError(source, shortList(doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return `line ${at.line}, column ${at.col}: ${e.message.split('\n')[0]}`;
      })));
    }
    const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
    if (depthExceeds(raw, MAX_CONFIG_DEPTH)) throw new ConfigError(source, [`nested deeper than ${MAX_CONFIG_DEPTH} levels`]);
    return raw;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (err instanceof RangeError) throw new ConfigError(source, [`nested too deeply to parse (limit ${MAX_CONFIG_DEPTH} levels)`]);
    if (/alias count/i.test((err as Error).message)) throw new ConfigError(source, ['too many alias references (more than 100): refusing a YAML alias bomb']);
    throw new ConfigError(source, [`cannot parse YAML: ${(err as Error).message.split('\n')[0]!.slice(0, MAX_PROBLEM_CHARS)}`]);
  }
}

export function parseConfig(text: string, source: string, plugins: readonly ProbePlugin[], env: Env = process.env): CollectorConfig {
  // 1. YAML
  const raw = parseYaml(text, source);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(source, ['the top level must be a mapping (probes, exporters, service)']);

  // 2. ${env:...}
  const substitutionErrors: SubstitutionError[] = [];
  const data = emptyComponentsToObjects(substituteEnv(raw, env, substitutionErrors) as Record<string, unknown>);
  const problems = substitutionErrors.map((e) => `${formatPath(e.path)}: ${e.message}`);

  // 3. Schema (defaults are applied in place)
  const validate = schemaFor(plugins);
  if (!validate(data)) {
    // A value whose variable was missing is reported once, as missing, not also as malformed.
    const unset = substitutionErrors.map((e) => `${formatPath(e.path)}:`);
    problems.push(...formatAjvErrors(validate.errors as ErrorObject[], data).filter((p) => !unset.some((u) => p.startsWith(u))));
  }

  // 4. What a schema cannot say
  if (problems.length === 0) {
    for (const [name, pipeline] of Object.entries((data as unknown as CollectorConfig).service.pipelines)) pipeline.signal = pipelineSignal(name);
    problems.push(...semanticProblems(data as unknown as CollectorConfig, plugins));
  }
  if (problems.length > 0) throw new ConfigError(source, shortList(problems));

  const config = data as unknown as CollectorConfig;
  config.service.intervalMs = parseDuration(config.service.interval);
  return deepFreeze(config);
}

/** `debug:` with nothing after it means "defaults", as in the OpenTelemetry Collector. */
function emptyComponentsToObjects(data: Record<string, unknown>): Record<string, unknown> {
  for (const section of ['probes', 'exporters']) {
    const components = data[section];
    if (components && typeof components === 'object' && !Array.isArray(components)) {
      for (const [id, value] of Object.entries(components)) if (value === null) (components as Record<string, unknown>)[id] = {};
    }
  }
  return data;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The collector schema with every plugin's schema merged in, and the key that says which
 * precompiled validator (if any) matches it.
 */
export function collectorSchemaFor(plugins: readonly ProbePlugin[]): { schema: Record<string, any>; key: string } {
  const schema = structuredClone(collectorSchema) as Record<string, any>;
  const probes = schema.properties.probes;
  probes.patternProperties = {};
  for (const plugin of plugins) {
    probes.patternProperties[`^${escapeRegExp(plugin.type)}(/[A-Za-z0-9_.-]+)?$`] = plugin.configSchema;
  }
  probes.additionalProperties = false;
  probes.expected = `probe ids of the form type[/name] with type one of ${plugins.map((p) => p.type).join(', ')}`;
  return { schema, key: createHash('sha256').update(JSON.stringify(schema)).digest('hex') };
}

/** One set of ajv options and formats for the run-time and the build-time validator. */
export function newAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true, allowUnionTypes: true, ...options });
  ajv.addKeyword({ keyword: 'expected', schemaType: 'string' });
  for (const [name, format] of Object.entries(formats)) ajv.addFormat(name, format);
  return ajv;
}

type Validate = ReturnType<Ajv['compile']>;
const compiledSchemas = new WeakMap<readonly ProbePlugin[], Validate>();

/**
 * The validator of a plugin list, made once: the build precompiles the registry's (ajv's
 * compile takes most of a second natively, minutes under emulation, at every start); any
 * other list, or a schema changed since the build, is compiled here.
 */
function schemaFor(plugins: readonly ProbePlugin[]): Validate {
  let validate = compiledSchemas.get(plugins);
  if (!validate) {
    const { schema, key } = collectorSchemaFor(plugins);
    validate = precompiled(key) ?? newAjv().compile(schema);
    compiledSchemas.set(plugins, validate);
  }
  return validate;
}

function precompiled(key: string): Validate | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const validate = require('./schema-validate.js') as Validate & { key: string };
    return validate.key === key ? validate : undefined;
  } catch {
    return undefined; // not built (e.g. run from the sources): compile
  }
}

function semanticProblems(config: CollectorConfig, plugins: readonly ProbePlugin[]): string[] {
  const problems: string[] = [];
  const byType = new Map(plugins.map((p) => [p.type, p]));
  for (const [id, probeConfig] of Object.entries(config.probes)) {
    const plugin = byType.get(componentType(id));
    for (const issue of plugin?.validate?.(probeConfig) ?? []) {
      problems.push(`${formatPath(['probes', id, ...issue.path])}: ${issue.message}`);
    }
  }
  for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
    const { signal } = pipeline;
    pipeline.probes.forEach((id, i) => {
      if (!(id in config.probes)) {
        const defined = Object.keys(config.probes);
        problems.push(`${formatPath(['service', 'pipelines', name, 'probes', `[${i}]`])}: probe "${id}" is not defined under probes${defined.length ? ` (defined: ${defined.join(', ')})` : ''}`);
      }
    });
    pipeline.exporters.forEach((id, i) => {
      const path = formatPath(['service', 'pipelines', name, 'exporters', `[${i}]`]);
      if (!(id in config.exporters)) {
        const defined = Object.keys(config.exporters);
        problems.push(`${path}: exporter "${id}" is not defined under exporters${defined.length ? ` (defined: ${defined.join(', ')})` : ''}`);
      } else if (signal === 'logs' && componentType(id) === 'prometheus') {
        problems.push(`${path}: exporter "${id}" exports metrics only and cannot be in a logs pipeline`);
      }
    });
  }
  if (parseDuration(config.service.interval) < 100) {
    problems.push(`${formatPath(['service', 'interval'])}: expected at least 100ms`);
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
