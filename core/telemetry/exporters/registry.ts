/** Every exporter kind, by its config type. A new kind: one file and one line here. */
import type { ExporterKind } from './kind';
import { otlpHttpKind } from './otlp-http';
import { prometheusKind } from './prometheus';
import { debugKind } from './debug';

export const exporterKinds: ReadonlyMap<string, ExporterKind> = new Map(
  [otlpHttpKind, prometheusKind, debugKind].map((k) => [k.type, k]),
);
