/**
 * A probe's event as a log record, built straight into the shape the SDK's log
 * exporters read (ReadableLogRecord), with the content the SDK's Logger.emit gives
 * it: timestamp and observed timestamp the emit time in ms, severity INFO, the
 * event name, body and attributes, the scope `netprobe` and its version, at most
 * the SDK's default 128 attributes (the rest counted in droppedAttributesCount).
 * Why not Logger.emit: it spreads the record twice, validates every attribute
 * through a new WeakSet and wraps each record in a getter-heavy LogRecordImpl,
 * several microseconds per record at ring-buffer rates, for attributes that are
 * already typed (string, number, boolean). The exporters and the wire format are
 * the SDK's; over protobuf the serializer is netprobe's (exporters/otlp-logs-protobuf.ts),
 * which writes the SDK serializer's bytes.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Attributes } from '../plugin/types';
import { VERSION } from '../version';

/** The SDK's default LogRecordLimits.attributeCountLimit. */
export const ATTRIBUTE_COUNT_LIMIT = 128;

/** Stable identity: the SDK's serializers group records by resource and scope object. */
export const LOG_SCOPE: ReadableLogRecord['instrumentationScope'] = Object.freeze({ name: 'netprobe', version: VERSION, schemaUrl: undefined });

export class EventLogRecord implements ReadableLogRecord {
  readonly hrTime: HrTime;
  readonly hrTimeObserved: HrTime;
  readonly spanContext = undefined;
  readonly severityNumber = SeverityNumber.INFO;
  readonly severityText = 'INFO';
  readonly instrumentationScope = LOG_SCOPE;
  readonly droppedAttributesCount: number;
  /** The attributes as the SDK would hold them, made on first read (the protobuf serializer reads `source` instead). */
  private merged: Attributes | undefined;

  /**
   * `source`: the probe's attributes, kept as they are (not copied: at ring-buffer rates
   * the copy cost more than writing them out); `extraKey`/`extraValue`: one attribute
   * added last (the probe id). Which attributes are kept: forEachAttribute().
   */
  constructor(readonly resource: Resource, readonly eventName: string, readonly source: Attributes, readonly body: string | undefined, readonly extraKey: string, readonly extraValue: string) {
    this.hrTime = this.hrTimeObserved = millisToHrTime(Date.now());
    let count = 0;
    for (const key in source) if (keptAttribute(key, extraKey)) count++;
    // As the SDK's limit: the first ATTRIBUTE_COUNT_LIMIT are kept, then the extra one if there is room.
    this.droppedAttributesCount = count >= ATTRIBUTE_COUNT_LIMIT ? count - ATTRIBUTE_COUNT_LIMIT + 1 : 0;
  }

  get attributes(): Attributes {
    if (this.merged) return this.merged;
    const own: Attributes = {};
    this.forEachAttribute(own, setAttribute);
    return (this.merged = own);
  }

  /** Calls `fn(context, key, value)` for each attribute the record holds, in order (no closure per call on the hot path). */
  forEachAttribute<C>(context: C, fn: (context: C, key: string, value: Attributes[string]) => void): void {
    let kept = 0;
    for (const key in this.source) {
      if (!keptAttribute(key, this.extraKey)) continue;
      if (kept++ >= ATTRIBUTE_COUNT_LIMIT) break;
      fn(context, key, this.source[key]!);
    }
    if (kept < ATTRIBUTE_COUNT_LIMIT) fn(context, this.extraKey, this.extraValue);
  }
}

function setAttribute(own: Attributes, key: string, value: Attributes[string]): void {
  own[key] = value;
}

/**
 * Whether a source attribute is written: the SDK drops an empty key, and the extra key is
 * set last, as the SDK's later write would overwrite it. After this, the first
 * ATTRIBUTE_COUNT_LIMIT are kept and the extra attribute only while there is room.
 */
function keptAttribute(key: string, extraKey: string): boolean {
  return key.length !== 0 && key !== extraKey;
}
