/**
 * Readers of the OTLP/HTTP JSON request bodies a capture stored (startOtlpCapture):
 * log records, and metric data points with their attributes as plain values. One
 * reader for every export test, so they all read OTLP the same way.
 */
import { capturedJson } from './collector';

export interface OtlpAnyValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
export interface OtlpKeyValue { key: string; value: OtlpAnyValue }
export interface OtlpLogRecord { eventName?: string; attributes: OtlpKeyValue[]; body?: OtlpAnyValue }
export interface OtlpDataPoint {
  attributes?: OtlpKeyValue[];
  asInt?: string | number;
  asDouble?: number;
  count?: string | number;
  explicitBounds?: number[];
  bucketCounts?: Array<string | number>;
}
type Points = { dataPoints: OtlpDataPoint[] };
export interface OtlpMetric { name: string; unit?: string; sum?: Points & { isMonotonic?: boolean }; gauge?: Points; histogram?: Points }

type LogsBody = { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: OtlpLogRecord[] }> }> };
type MetricsBody = { resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: OtlpMetric[] }> }> };

/** Every log record in the captured logs requests, in arrival order. */
export function capturedLogRecords(dir: string): OtlpLogRecord[] {
  return (capturedJson(dir, 'logs') as LogsBody[]).flatMap((r) => r.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)));
}

/** Every metric in the given metrics request bodies. */
export function metricsIn(bodies: unknown[]): OtlpMetric[] {
  return (bodies as MetricsBody[]).flatMap((b) => b.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)));
}

/** The metrics of the latest export (sums are cumulative, so the latest has everything). */
export function latestMetrics(dir: string): OtlpMetric[] {
  return metricsIn(capturedJson(dir, 'metrics').slice(-1));
}

/** One attribute's OTLP value. */
export const attr = (list: OtlpKeyValue[] | undefined, key: string): OtlpAnyValue | undefined => list?.find((kv) => kv.key === key)?.value;

/** An OTLP value as JavaScript: integers (sent as strings or numbers) become numbers. */
export function plainValue(v: OtlpAnyValue): string | number | boolean | undefined {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.boolValue ?? v.doubleValue;
}

export function plainAttributes(list: OtlpKeyValue[] | undefined): Record<string, string | number | boolean | undefined> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plainValue(kv.value)]));
}

/** The points of a sum or gauge named `name`, attributes as plain values. */
export function dataPoints(metrics: OtlpMetric[], name: string): Array<{ attributes: Record<string, string | number | boolean | undefined>; value: number }> {
  return metrics.filter((m) => m.name === name).flatMap((m) => (m.sum ?? m.gauge)?.dataPoints ?? [])
    .map((p) => ({ attributes: plainAttributes(p.attributes), value: p.asDouble ?? Number(p.asInt ?? 0) }));
}

/** The sum of the points of `name` whose attributes include `match`. */
export function total(metrics: OtlpMetric[], name: string, match: Record<string, string | number | boolean> = {}): number {
  return dataPoints(metrics, name).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + p.value, 0);
}
