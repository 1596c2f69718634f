/**
 * Turns ajv's errors into one line per problem, in the OpenTelemetry Collector's
 * style: `probes::xdp_counter::mode: must be one of auto, native, generic`.
 */
import type { ErrorObject } from 'ajv';

/** ['probes', 'dns', 'ports', '[0]'] -> probes::dns::ports[0] */
export function formatPath(path: readonly string[]): string {
  let out = '';
  for (const seg of path) out += seg.startsWith('[') ? seg : out ? `::${seg}` : seg;
  return out || '(top level)';
}

/** Converts ajv's JSON pointer into path segments, using the data to tell array indexes apart. */
function segments(instancePath: string, data: unknown): string[] {
  const out: string[] = [];
  let node: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out.push(Array.isArray(node) ? `[${key}]` : key);
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

function describeType(schema: Record<string, unknown>): string {
  const type = schema.type as string | string[] | undefined;
  const names = Array.isArray(type) ? type.join(' or ') : type ?? 'value';
  const { minimum: min, maximum: max } = schema as { minimum?: number; maximum?: number };
  if (min !== undefined && max !== undefined) return `${names} ${min}..${max}`;
  if (min !== undefined) return `${names} >= ${min}`;
  if (max !== undefined) return `${names} <= ${max}`;
  return names;
}

function message(e: ErrorObject): { extraPath?: string; text: string } {
  const schema = (e.parentSchema ?? {}) as Record<string, unknown>;
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'type':
    case 'minimum':
    case 'maximum':
      return { text: `expected ${describeType(schema)}` };
    case 'enum':
      return { text: `must be one of ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { text: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'additionalProperties': {
      const known = Object.keys((schema.properties as object) ?? {});
      const hint = schema.expected ? ` (expected ${schema.expected as string})` : known.length ? ` (expected one of ${known.join(', ')})` : '';
      return { extraPath: p.additionalProperty as string, text: `unknown key${hint}` };
    }
    case 'required':
      return { extraPath: p.missingProperty as string, text: 'is required' };
    case 'format':
      return {
        text: p.format === 'duration' ? 'expected a duration such as 500ms, 10s or 1m'
          : p.format === 'http-url' ? 'expected an http:// or https:// URL'
            : p.format === 'cidr' ? 'expected an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8' : `expected ${p.format as string}`,
      };
    case 'minItems':
      return { text: `expected at least ${p.limit as number} item${p.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { text: `expected at most ${p.limit as number} items` };
    case 'uniqueItems':
      return { text: `items ${p.j as number} and ${p.i as number} are the same; each may appear once` };
    case 'minLength':
      return { text: p.limit === 1 ? 'must not be empty' : `expected at least ${p.limit as number} characters` };
    case 'minProperties':
      return { text: `expected at least ${p.limit as number} entr${p.limit === 1 ? 'y' : 'ies'}${schema.expected ? ` (${schema.expected as string})` : ''}` };
    case 'pattern':
      return { text: `must match ${p.pattern as string}` };
    default:
      return { text: e.message ?? e.keyword };
  }
}

export function formatAjvErrors(errors: readonly ErrorObject[], data: unknown): string[] {
  // Where a schema node says what it expects (e.g. a oneOf), that one sentence replaces
  // the alternatives' individual complaints at the same path.
  const explained = new Map<string, string>();
  for (const e of errors) {
    const expected = (e.parentSchema as Record<string, unknown> | undefined)?.expected;
    if (typeof expected === 'string' && e.keyword !== 'additionalProperties' && e.keyword !== 'minProperties') {
      explained.set(e.instancePath, `expected ${expected}`);
    }
  }
  const lines = new Set<string>();
  for (const e of errors) {
    const path = segments(e.instancePath, data);
    const explanation = explained.get(e.instancePath);
    if (explanation) {
      lines.add(`${formatPath(path)}: ${explanation}`);
      continue;
    }
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const { extraPath, text } = message(e);
    lines.add(`${formatPath(extraPath ? [...path, extraPath] : path)}: ${text}`);
  }
  return [...lines];
}
