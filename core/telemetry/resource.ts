/**
 * The resource every metric and log record carries: host.name, service.name
 * (OTEL_SERVICE_NAME, default netprobe), service.version, service.instance.id,
 * plus OTEL_RESOURCE_ATTRIBUTES.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { VERSION } from '../version';
import type { Env } from '../config/env';

/** OTEL_RESOURCE_ATTRIBUTES: `key=value,key2=value2`, values percent-encoded. Malformed pairs are skipped. */
export function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // skip a pair that is not valid percent-encoding
    }
  }
  return out;
}

export function buildResource(env: Env = process.env): Resource {
  const fromEnv = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  return resourceFromAttributes({
    'host.name': os.hostname(),
    'service.instance.id': randomUUID(),
    ...fromEnv,
    'service.name': env.OTEL_SERVICE_NAME || fromEnv['service.name'] || 'netprobe',
    'service.version': fromEnv['service.version'] ?? VERSION,
  });
}
