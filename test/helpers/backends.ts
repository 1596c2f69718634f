/**
 * The real backends tests export to, fetched by scripts/fetch-test-backends.sh:
 * VictoriaMetrics (OTLP/HTTP in, Prometheus-style queries out) and the official
 * opentelemetry-proto files (for protoc --decode and for a gRPC receiver).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import type { TestNet } from './netns';
import { repoRoot } from './paths';
import { httpGetIn, until, type Namespaces } from './collector';

export const backendRoot = path.join(process.env.NETPROBE_CACHE ?? path.join(repoRoot, '.cache'), 'debian', 'root');
export const victoriaMetrics = path.join(backendRoot, 'usr', 'bin', 'victoria-metrics');
export const protoInclude = path.join(backendRoot, 'usr', 'include');

/** True when the backends are there; else skips (a failure under CI). */
export function backendsAvailable(t: Pick<TestContext, 'skip'>): boolean {
  if (fs.existsSync(victoriaMetrics) && fs.existsSync(path.join(protoInclude, 'opentelemetry'))) return true;
  const why = `test backends missing in ${backendRoot}: run scripts/fetch-test-backends.sh`;
  if (process.env.CI) throw new Error(why);
  t.skip(why);
  return false;
}

export interface VmSeries { metric: Record<string, string>; values: number[]; timestamps: number[] }

/** A VictoriaMetrics on `ns`'s 127.0.0.1:`port`, killed with the namespace's other children. */
export class VictoriaMetrics {
  readonly otlpEndpoint: string;
  /** The server process (undefined for a client made with at()). */
  child: ChildProcess | undefined;
  private constructor(private readonly net: Namespaces, private readonly ns: string, private readonly base: string) {
    this.otlpEndpoint = `${base}/opentelemetry`;
  }

  /** `listen`: the address to listen on (default the namespace's loopback; '' is every address). */
  static async start(net: Namespaces, ns: string, port = 8428, listen = '127.0.0.1'): Promise<VictoriaMetrics> {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-vm-'));
    const child = net.spawn(ns, [victoriaMetrics, `-httpListenAddr=${listen}:${port}`, `-storageDataPath=${data}`, '-loggerLevel=ERROR', '-retentionPeriod=1d']);
    const vm = new VictoriaMetrics(net, ns, `http://127.0.0.1:${port}`);
    vm.child = child;
    await until('VictoriaMetrics to be healthy', 20_000, () => (vm.get('/health').includes('OK') ? true : undefined));
    return vm;
  }

  /** A client for one already listening on `ns`'s 127.0.0.1:`port`. */
  static at(net: Namespaces, ns: string, port = 8428): VictoriaMetrics {
    return new VictoriaMetrics(net, ns, `http://127.0.0.1:${port}`);
  }

  get(pathAndQuery: string): string {
    return httpGetIn(this.net, this.ns, `${this.base}${pathAndQuery}`);
  }

  /** Every stored series whose name starts with `metricPrefix` (dots as exported), all samples. */
  series(metricPrefix: string): VmSeries[] {
    this.get('/internal/force_flush');
    const match = `{__name__=~"${metricPrefix.replace(/\./g, '\\\\.')}.*"}`;
    return this.get(`/api/v1/export?match[]=${encodeURIComponent(match)}`).split('\n').filter(Boolean).map((l) => JSON.parse(l) as VmSeries);
  }

  /** The label sets of every series seen in the last `window` (no samples: cheap on a big backend). */
  seriesLabels(window = '10m'): Array<Record<string, string>> {
    const start = Math.floor(Date.now() / 1000) - parseWindowSeconds(window);
    const body = JSON.parse(this.get(`/api/v1/series?match[]=${encodeURIComponent('{__name__=~".+"}')}&start=${start}`)) as { data: Array<Record<string, string>> };
    return body.data;
  }

  /** The latest value of the first series of `metricPrefix` with a label equal to `labelValue`. */
  latest(metricPrefix: string, labelValue: string): number | undefined {
    return this.series(metricPrefix).find((s) => Object.values(s.metric).includes(labelValue))?.values.at(-1);
  }
}

/** VictoriaMetrics on nsB's 127.0.0.1:8428 (the usual single-host test layout). */
export async function startVictoriaMetrics(net: TestNet): Promise<ChildProcess> {
  return (await VictoriaMetrics.start(net, net.nsB)).child!;
}

/** The latest value VictoriaMetrics on nsB stored for `metric` on a series that mentions `label`. */
export function latestInVictoriaMetrics(net: TestNet, metric: string, label: string): number | undefined {
  return VictoriaMetrics.at(net, net.nsB).latest(metric, label);
}

function parseWindowSeconds(window: string): number {
  const m = /^(\d+)([smh])$/.exec(window);
  if (!m) throw new Error(`window ${window}: expected e.g. 10m`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}
