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
  readonly attributes: Attributes;
  readonly droppedAttributesCount: number;

  /** `extraKey`/`extraValue`: one attribute added last (the probe id), without a second copy of the others. */
  constructor(readonly resource: Resource, readonly eventName: string, attributes: Attributes, readonly body: string | undefined, extraKey: string, extraValue: string) {
    this.hrTime = this.hrTimeObserved = millisToHrTime(Date.now());
    const own: Attributes = {};
    let count = 0;
    let dropped = 0;
    for (const key in attributes) {
      if (key.length === 0) continue; // the SDK drops an empty key
      if (key === extraKey) continue; // set below, as the SDK's later write would overwrite it
      if (count >= ATTRIBUTE_COUNT_LIMIT) dropped++;
      else {
        own[key] = attributes[key]!;
        count++;
      }
    }
    if (count >= ATTRIBUTE_COUNT_LIMIT) dropped++;
    else own[extraKey] = extraValue;
    this.attributes = own;
    this.droppedAttributesCount = dropped;
  }
}
