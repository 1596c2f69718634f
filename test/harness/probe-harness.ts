/**
 * Runs the probes of a config file without exporters, for kernel tests that must
 * run inside a network namespace (`ip netns exec ns node probe-harness.js cfg.yaml`).
 * Protocol, one JSON object per line on stdout:
 *   -> {"ready": [attachments]}      after every probe started (or {"error": "..."})
 *   stdin "collect" -> {"points": [{probe, metric, attributes, value}]}
 *   stdin "events"  -> {"events": [{probe, name, attributes, body}]}  (log records since the last "events")
 *   stdin "restart" -> {"ready": [attachments]}   every probe stopped, then started again as new runners
 *   stdin "stop"    -> {"stopped": true, "events": [records emitted since the last "events", stop included]}, then exit
 * With --fail-after-attach, every probe's first attachment succeeds and then fails (an injected
 * error), and the harness replies {"error", "code", "released": {programIds, stillLoaded, attachments}}:
 * the programs the probe had loaded when it failed, and those still in the kernel after the failure.
 */
import readline from 'node:readline';
import { loadConfigFile } from '../../core/config/load';
import { ProbeRunner } from '../../core/plugin/runner';
import { componentType } from '../../core/config/load';
import { createLogger } from '../../core/log';
import { plugins } from '../../plugins/registry';
import { createSharedFacts } from '../../core/facts/shared-facts';
import { loadedBpf } from '../../core/plugin/object';
import { programId } from '../../core/bpf/prog-stats';
import { libbpf } from '../../core/bpf/libbpf';
import { NetprobeError } from '../../core/errors';
import type { Attributes, HistogramValue, ProbeHost, ProbeObject, ProbePlugin } from '../../core/plugin/types';

const say = (obj: unknown) => process.stdout.write(JSON.stringify(obj) + '\n');

async function main(): Promise<void> {
  const config = loadConfigFile(process.argv[2]!, plugins);
  const log = createLogger('harness');
  const events: Array<{ probe: string; name: string; attributes: Attributes; body?: string }> = [];
  const claims = new Map<string, string>();
  const facts = createSharedFacts();
  const failAfterAttach = process.argv.includes('--fail-after-attach');
  const acquired: number[] = [];
  const build = () => Object.keys(config.probes).map((id) => {
    const found = plugins.find((p) => p.type === componentType(id))!;
    const plugin = failAfterAttach ? failingAfterFirstAttach(found, acquired) : found;
    return new ProbeRunner(id, plugin, config.probes[id], log, (probe, name, attributes, body) => events.push({ probe, name, attributes, body }), claims, facts);
  });
  let runners = build();
  try {
    for (const r of runners) await r.start();
  } catch (err) {
    for (const r of runners) await r.stop();
    const released = failAfterAttach ? { programIds: acquired, stillLoaded: await stillLoaded(acquired), attachments: runners.flatMap((r) => r.attachments).length } : undefined;
    say({ error: (err as Error).message, code: (err as NetprobeError).code, released });
    process.exit(1);
  }
  say({ ready: runners.flatMap((r) => r.attachments) });
  const stdin = readline.createInterface({ input: process.stdin });
  for await (const line of stdin) {
    if (line === 'collect') {
      const points: Array<{ probe: string; metric: string; attributes: Attributes; value: number | HistogramValue }> = [];
      for (const r of runners) await r.collect({ record: (metric, attributes, value) => points.push({ probe: r.id, metric, attributes, value }) });
      say({ points });
    } else if (line === 'events') {
      say({ events: events.splice(0) });
    } else if (line === 'restart') {
      for (const r of [...runners].reverse()) await r.stop();
      runners = build();
      for (const r of runners) await r.start();
      say({ ready: runners.flatMap((r) => r.attachments) });
    } else if (line === 'stop') {
      break;
    }
  }
  for (const r of [...runners].reverse()) await r.stop();
  say({ stopped: true, events });
}

/**
 * The plugin, its host changed so that the first attachment succeeds and then an error is
 * thrown: a failure after the probe loaded its object and attached a program. The ids of
 * the programs loaded at that moment go to `acquired`.
 */
function failingAfterFirstAttach(plugin: ProbePlugin, acquired: number[]): ProbePlugin {
  return {
    ...plugin,
    create(ctx) {
      const attach = (name: 'attachXdp' | 'attachTc' | 'attachCgroup' | 'attachTracepoint') => (object: ProbeObject, ...rest: unknown[]) => {
        (ctx.host[name] as (...args: unknown[]) => unknown).call(ctx.host, object, ...rest);
        for (const p of loadedBpf(object).programs()) acquired.push(programId(p.fd));
        throw new NetprobeError('NETPROBE_ERR_ATTACH', 'injected failure after attaching');
      };
      const host: ProbeHost = Object.create(ctx.host as object) as ProbeHost;
      Object.assign(host, {
        attachXdp: attach('attachXdp'), attachTc: attach('attachTc'), attachCgroup: attach('attachCgroup'), attachTracepoint: attach('attachTracepoint'),
      });
      return plugin.create({ ...ctx, host });
    },
  };
}

/** Which of these programs the kernel still has, once its deferred freeing had time (up to 2 s). */
async function stillLoaded(ids: number[]): Promise<number[]> {
  const loaded = () => ids.filter((id) => {
    const fd = libbpf().bpf_prog_get_fd_by_id(id) as number;
    if (fd < 0) return false;
    libbpf().close(fd);
    return true;
  });
  for (let i = 0; i < 40 && loaded().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  return loaded();
}

main().catch((err) => {
  say({ error: (err as Error).stack ?? String(err) });
  process.exit(1);
});
