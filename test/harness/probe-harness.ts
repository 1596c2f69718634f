/**
 * Runs the probes of a config file without exporters, for kernel tests that must
 * run inside a network namespace (`ip netns exec ns node probe-harness.js cfg.yaml`).
 * Protocol, one JSON object per line on stdout:
 *   -> {"ready": [attachments]}      after every probe started (or {"error": "..."})
 *   stdin "collect" -> {"points": [{probe, metric, attributes, value}]}
 *   stdin "events"  -> {"events": [{probe, name, attributes, body}]}  (log records since the last "events")
 *   stdin "stop"    -> {"stopped": true, "events": [records emitted since the last "events", stop included]}, then exit
 */
import readline from 'node:readline';
import { loadConfigFile } from '../../core/config/load';
import { ProbeRunner } from '../../core/plugin/runner';
import { componentType } from '../../core/config/load';
import { createLogger } from '../../core/log';
import { plugins } from '../../plugins/registry';
import { createSharedFacts } from '../../core/facts/shared-facts';
import type { Attributes, HistogramValue } from '../../core/plugin/types';

const say = (obj: unknown) => process.stdout.write(JSON.stringify(obj) + '\n');

async function main(): Promise<void> {
  const config = loadConfigFile(process.argv[2]!, plugins);
  const log = createLogger('harness');
  const events: Array<{ probe: string; name: string; attributes: Attributes; body?: string }> = [];
  const claims = new Map<string, string>();
  const facts = createSharedFacts();
  const runners = Object.keys(config.probes).map((id) => {
    const plugin = plugins.find((p) => p.type === componentType(id))!;
    return new ProbeRunner(id, plugin, config.probes[id], log, (probe, name, attributes, body) => events.push({ probe, name, attributes, body }), claims, facts);
  });
  try {
    for (const r of runners) await r.start();
  } catch (err) {
    for (const r of runners) await r.stop();
    say({ error: (err as Error).message });
    process.exit(1);
  }
  say({ ready: runners.flatMap((r) => r.attachments) });
  const stdin = readline.createInterface({ input: process.stdin });
  for await (const line of stdin) {
    if (line === 'collect') {
      const points: Array<{ probe: string; metric: string; attributes: Attributes; value: number | HistogramValue }> = [];
      for (const r of runners) r.collect({ record: (metric, attributes, value) => points.push({ probe: r.id, metric, attributes, value }) });
      say({ points });
    } else if (line === 'events') {
      say({ events: events.splice(0) });
    } else if (line === 'stop') {
      break;
    }
  }
  for (const r of [...runners].reverse()) await r.stop();
  say({ stopped: true, events });
}

main().catch((err) => {
  say({ error: (err as Error).stack ?? String(err) });
  process.exit(1);
});
