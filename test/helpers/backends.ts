/**
 * The real backends tests export to: VictoriaMetrics (OTLP/HTTP in, PromQL out) and
 * the official OTLP .proto files, fetched once by scripts/fetch-test-backends.sh.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { TestNet } from './netns';
import { repoRoot } from './paths';
import { httpGet, until } from './collector';

const backendRoot = path.join(process.env.NETPROBE_CACHE ?? path.join(repoRoot, '.cache'), 'debian', 'root');
export const victoriaMetrics = path.join(backendRoot, 'usr', 'bin', 'victoria-metrics');
export const protoInclude = path.join(backendRoot, 'usr', 'include');

export function backendsAvailable(t: { skip(msg: string): void }): boolean {
  if (fs.existsSync(victoriaMetrics) && fs.existsSync(path.join(protoInclude, 'opentelemetry'))) return true;
  const why = `test backends missing in ${backendRoot}: run scripts/fetch-test-backends.sh`;
  if (process.env.CI) throw new Error(why);
  t.skip(why);
  return false;
}

/** VictoriaMetrics on nsB's 127.0.0.1:8428, with its own data directory; resolves once healthy. */
export async function startVictoriaMetrics(net: TestNet): Promise<ChildProcess> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-vm-'));
  const child = net.spawn(net.nsB, [victoriaMetrics, '-httpListenAddr=127.0.0.1:8428', `-storageDataPath=${data}`, '-loggerLevel=ERROR', '-retentionPeriod=1d']);
  await until('VictoriaMetrics to be healthy', 20_000, () => (httpGet(net, 'http://127.0.0.1:8428/health').includes('OK') ? true : undefined));
  return child;
}

/** The latest value VictoriaMetrics stored for `metric` on a series that mentions `label`. */
export function latestInVictoriaMetrics(net: TestNet, metric: string, label: string): number | undefined {
  httpGet(net, 'http://127.0.0.1:8428/internal/force_flush');
  const text = httpGet(net, `http://127.0.0.1:8428/api/v1/export?match[]=${encodeURIComponent(`{__name__=~"${metric.replace(/\./g, '\\\\.')}.*"}`)}`);
  for (const line of text.split('\n').filter(Boolean)) {
    const series = JSON.parse(line) as { metric: Record<string, string>; values: number[] };
    if (Object.values(series.metric).includes(label)) return series.values.at(-1);
  }
  return undefined;
}
