#!/usr/bin/env node
/**
 * netprobe run | validate | plugins | doctor | capture
 * Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage.
 */
import { parseArgs } from 'node:util';
import { loadConfigFile, ConfigError, type CollectorConfig } from '../core/config/load';
import { Service } from '../core/service';
import { createLogger, setLogLevel } from '../core/log';
import { plugins } from '../plugins/registry';
import { formatChecks, runDoctor } from '../core/doctor/doctor';
import { VERSION } from '../core/version';
import { capture } from './capture';
import { BpfObject } from '../core/bpf/object';
import path from 'node:path';
import { top, TOP_USAGE } from './top/top';
import { runBanner } from './banner';
import { keepHeapTight } from './heap';

const USAGE = `netprobe ${VERSION}: eBPF network probes exported as OpenTelemetry metrics and logs

usage:
  netprobe run      [--config FILE]   run the collector (default ./collector.yaml; FILE alone works too)
  netprobe top      [-i IFACE]...     a live view of the network: interfaces, flows, ports, DNS, TCP
  netprobe validate [--config FILE]   check a config; touches nothing in the kernel
  netprobe plugins                    list the probes with what they attach and emit
  netprobe doctor                     check this machine: kernel, BTF, capabilities, interfaces
  netprobe capture -i IFACE -w FILE   capture packets to pcap-ng, like tcpdump (netprobe capture -h)
`;

function loadConfig(file: string): CollectorConfig | undefined {
  try {
    return loadConfigFile(file, plugins);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

function validate(file: string): number {
  const config = loadConfig(file);
  if (!config) return 2;
  const pipelines = Object.keys(config.service.pipelines).length;
  process.stdout.write(
    `${file}: valid (${Object.keys(config.probes).length} probes, ${Object.keys(config.exporters).length} exporters, ${pipelines} pipeline${pipelines === 1 ? '' : 's'}, interval ${config.service.interval})\n`,
  );
  return 0;
}

/** Every plugin program's name -> its probe type (the objects are opened, not loaded: no kernel needed). */
function programNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const plugin of plugins) {
    try {
      const object = BpfObject.open(path.join(plugin.directory, plugin.object));
      for (const name of object.programNames()) names.set(name, plugin.type);
      object.close();
    } catch {
      // libbpf missing: doctor says so
    }
  }
  return names;
}

function listPlugins(): number {
  for (const p of plugins) {
    const lines = [`${p.type}`, `  ${p.description}`, `  attaches: ${p.attaches}`, '  metrics:'];
    for (const m of p.metrics) lines.push(`    ${m.name} (${m.kind}, ${m.unit}) [${m.attributes.join(', ')}]: ${m.description}`);
    lines.push('  log records:');
    lines.push('    netprobe.probe.attached [netprobe.attach.kind, network.interface.name or netprobe.attach.cgroup, netprobe.attach.detail]: one per attachment, at start');
    for (const r of p.logRecords) lines.push(`    ${r.eventName} [${r.attributes.join(', ')}]: ${r.description}`);
    process.stdout.write(lines.join('\n') + '\n\n');
  }
  return 0;
}

async function run(file: string): Promise<number> {
  keepHeapTight();
  const config = loadConfig(file);
  if (!config) return 2;
  setLogLevel(config.service.telemetry.logs.level);
  const log = createLogger();
  const service = new Service(config, plugins, log);

  let exiting = false;
  const stop = (reason: string, code: number) => {
    if (exiting) return;
    exiting = true;
    log.info('stopping', { reason });
    const hardDeadline = setTimeout(() => {
      log.error('shutdown took too long; exiting (links close with the process)');
      process.exit(1);
    }, 15_000);
    hardDeadline.unref();
    service.shutdown().then(
      () => process.exit(code),
      (err) => {
        log.error('shutdown failed', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  // Until hot reload gives SIGHUP a meaning, a hangup (a closed terminal, nohup) must not kill the collector unflushed.
  process.on('SIGHUP', () => log.warn('SIGHUP ignored: the config is not reloaded; stop with SIGTERM or SIGINT'));
  process.on('uncaughtException', (err) => {
    log.error('unexpected error', { error: err, stack: err.stack });
    stop('uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => {
    log.error('unexpected rejection', { error: err });
  });

  try {
    await service.start();
  } catch (err) {
    log.error((err as Error).message);
    return 1;
  }
  process.stdout.write(runBanner(file, config, service.attachments, service.exporterDescriptions).join('\n') + '\n');
  return -1; // keep running until a signal
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'capture') return capture(rest);
  if (command === 'top') {
    if (rest.includes('-h') || rest.includes('--help')) {
      process.stdout.write(TOP_USAGE);
      return 0;
    }
    // Exit as soon as top has restored the terminal and detached: nothing else should linger.
    return top(rest, plugins).then((code) => process.exit(code));
  }
  let values: { config?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    }));
    // `netprobe validate FILE` reads like `--config FILE`; anything more is a mistake.
    if (positionals.length > 1 || (positionals.length && values.config)) throw new Error(`unexpected argument ${JSON.stringify(positionals.at(-1))}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const file = values.config ?? positionals[0] ?? 'collector.yaml';
  switch (command) {
    case 'run':
      return run(file);
    case 'validate':
      return validate(file);
    case 'plugins':
      return listPlugins();
    case 'doctor': {
      const checks = runDoctor(programNames());
      process.stdout.write(formatChecks(checks) + '\n');
      return checks.some((c) => c.status === 'FAIL') ? 1 : 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    // A short line for users; the stack only when asked for (NETPROBE_LOG_LEVEL=debug).
    const detail = process.env.NETPROBE_LOG_LEVEL === 'debug' ? (err as Error).stack : (err as Error).message;
    process.stderr.write(`netprobe: ${detail ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
