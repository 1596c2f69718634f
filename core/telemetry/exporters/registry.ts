/** Every exporter kind, by its config type. A new kind: one file and one line here. */
import type { ExporterKind } from './kind';
import { otlpHttpKind } from './otlp-http';
import { otlpKind } from './otlp';
import { prometheusKind } from './prometheus';
import { debugKind } from './debug';

export const exporterKinds: ReadonlyMap<string, ExporterKind> = new Map(
  [otlpKind, otlpHttpKind, prometheusKind, debugKind].map((k) => [k.type, k]),
);
