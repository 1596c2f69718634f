/**
 * `${env:VAR}` and `${env:VAR:-default}` substitution, as the OpenTelemetry Collector does it:
 * applied to string values after YAML parsing, so a variable can never inject YAML structure.
 * A value that is exactly one reference takes the variable's YAML type (`port: ${env:PORT}`
 * becomes a number); `$$` stands for a literal `$`.
 */
import { parse as parseYamlScalar } from 'yaml';

const REFERENCE = /\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}/g;
const WHOLE = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

export interface SubstitutionError { path: string[]; message: string }

export type Env = Record<string, string | undefined>;

/** Returns a copy of `value` with every reference replaced; problems are appended to `errors`. */
export function substituteEnv(value: unknown, env: Env, errors: SubstitutionError[], path: string[] = []): unknown {
  if (typeof value === 'string') return substituteString(value, env, errors, path);
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, errors, [...path, `[${i}]`]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, errors, [...path, k]);
    return out;
  }
  return value;
}

function lookup(name: string, fallback: string | undefined, env: Env, errors: SubstitutionError[], path: string[]): string {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  if (fallback !== undefined) return fallback;
  errors.push({ path, message: `environment variable ${name} is not set (use \${env:${name}:-default} for a default)` });
  return '';
}

function substituteString(text: string, env: Env, errors: SubstitutionError[], path: string[]): unknown {
  const whole = WHOLE.exec(text);
  if (whole) {
    const raw = lookup(whole[1]!, whole[2], env, errors, path);
    const typed: unknown = raw === '' ? '' : parseYamlScalar(raw);
    return typed !== null && typeof typed !== 'object' ? typed : raw;
  }
  return text.replace(REFERENCE, (match, name?: string, fallback?: string, other?: string) => {
    if (match === '$$') return '$';
    if (name) return lookup(name, fallback, env, errors, path);
    errors.push({ path, message: `unsupported reference \${${other}} (expected \${env:NAME} or \${env:NAME:-default})` });
    return match;
  });
}
