/**
 * `netprobe capture`: ad-hoc packet capture like tcpdump, as a face over the same
 * service and packet_capture probe the collector runs (no second path to the
 * kernel). Options become a packet_capture config, validated by the probe's own
 * schema; the service runs it with no exporters and stops when the probe has
 * written COUNT packets, when its output fails, or on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig, ConfigError, type CollectorConfig } from '../core/config/load';
import { Service } from '../core/service';
import { createLogger, setLogLevel } from '../core/log';
import { plugins } from '../plugins/registry';

export const CAPTURE_USAGE = `usage: netprobe capture -i IFACE [-i IFACE...] -w FILE.pcapng|- [options]

  -i, --interface IFACE     interface to capture on (repeatable)
  -w, --write FILE          pcap-ng file to write, or - for stdout (netprobe capture ... -w - | tshark -r -)
  -c, --count N             stop after writing N packets
  -s, --snaplen N           bytes captured per packet (1..65535; 0 = 65535, as tcpdump)
  -Q, --direction DIR       in, out or inout (default inout)
  filter (in the kernel; options of one kind are OR-ed, different kinds AND-ed):
      --net CIDR            source or destination in CIDR (tcpdump: net/host)
      --not-net CIDR        neither address in CIDR
      --port N              TCP/UDP/SCTP source or destination port
      --not-port N          neither port is N
      --proto NAME|NUMBER   tcp, udp, icmp, icmpv6, sctp, gre, esp, ah or an IP protocol number
      --vlan ID             outermost VLAN ID
  limits (in the kernel; what they skip is counted):
      --sample N            capture 1 in N matching packets
      --max-pps N           at most N packets per second
      --max-bps N           at most N captured bytes per second
  files:
  -C, --rotate-bytes N      start a new file after N bytes (FILE-00001.pcapng, ...)
  -G, --rotate-interval D   start a new file after duration D (e.g. 10s, 5m)
  -W, --max-files N         keep at most N rotated files (default 10)
`;

const OPTIONS = {
  interface: { type: 'string', short: 'i', multiple: true },
  write: { type: 'string', short: 'w' },
  count: { type: 'string', short: 'c' },
  snaplen: { type: 'string', short: 's' },
  direction: { type: 'string', short: 'Q' },
  net: { type: 'string', multiple: true },
  'not-net': { type: 'string', multiple: true },
  port: { type: 'string', multiple: true },
  'not-port': { type: 'string', multiple: true },
  proto: { type: 'string', multiple: true },
  vlan: { type: 'string', multiple: true },
  sample: { type: 'string' },
  'max-pps': { type: 'string' },
  'max-bps': { type: 'string' },
  'rotate-bytes': { type: 'string', short: 'C' },
  'rotate-interval': { type: 'string', short: 'G' },
  'max-files': { type: 'string', short: 'W' },
  'ring-bytes': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; args: string[] }>>['values'];

class UsageError extends Error {}

/** A number option as the schema expects it (an integer), or the text, which the schema then rejects with its path. */
const numeric = (text: string): number | string => (/^\d+$/.test(text) ? Number(text) : text);

/** The packet_capture config the options describe (validated later by the probe's schema). */
export function captureProbeConfig(v: Values): Record<string, unknown> {
  if (!v.interface?.length) throw new UsageError('-i IFACE is required');
  if (!v.write) throw new UsageError('-w FILE (or -w - for stdout) is required');
  const directions = { in: ['ingress'], out: ['egress'], inout: ['ingress', 'egress'] }[v.direction ?? 'inout'];
  if (!directions) throw new UsageError(`-Q ${v.direction}: expected in, out or inout`);
  const probe: Record<string, unknown> = { interfaces: v.interface, directions };
  if (v.snaplen !== undefined) probe.snaplen = v.snaplen === '0' ? 65535 : numeric(v.snaplen);
  if (v.count !== undefined) probe.max_packets = numeric(v.count);
  if (v.sample !== undefined) probe.sample_rate = numeric(v.sample);
  if (v['max-pps'] !== undefined) probe.max_packets_per_second = numeric(v['max-pps']);
  if (v['max-bps'] !== undefined) probe.max_bytes_per_second = numeric(v['max-bps']);
  if (v['ring-bytes'] !== undefined) probe.ring_buffer_bytes = numeric(v['ring-bytes']);
  const filter: Record<string, unknown> = {};
  if (v.net) filter.include_cidrs = v.net;
  if (v['not-net']) filter.exclude_cidrs = v['not-net'];
  if (v.port) filter.include_ports = v.port.map(numeric);
  if (v['not-port']) filter.exclude_ports = v['not-port'].map(numeric);
  if (v.proto) filter.protocols = v.proto.map(numeric);
  if (v.vlan) filter.vlans = v.vlan.map(numeric);
  if (Object.keys(filter).length) probe.filter = filter;
  const pcapng: Record<string, unknown> = { path: v.write };
  if (v['rotate-bytes'] !== undefined) pcapng.rotate_bytes = numeric(v['rotate-bytes']);
  if (v['rotate-interval'] !== undefined) pcapng.rotate_interval = v['rotate-interval'];
  if (v['max-files'] !== undefined) pcapng.max_files = numeric(v['max-files']);
  probe.pcapng = pcapng;
  return probe;
}

/**
 * A collector config running only the capture probe. The schema wants an exporter in
 * every pipeline, so one is named for validation, then left out: the capture writes
 * its own output, and stdout may be the capture itself.
 */
function captureConfig(probe: Record<string, unknown>): CollectorConfig {
  const text = stringify({
    probes: { packet_capture: probe },
    exporters: { debug: {} },
    service: { interval: '1h', pipelines: { metrics: { probes: ['packet_capture'], exporters: ['debug'] } } },
  });
  const parsed = parseConfig(text, 'from the command line', plugins);
  return { ...parsed, exporters: {}, service: { ...parsed.service, pipelines: { metrics: { probes: ['packet_capture'], exporters: [], signal: 'metrics' } } } };
}

export async function capture(args: string[]): Promise<number> {
  let config: CollectorConfig;
  try {
    const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
    if (values.help) {
      process.stderr.write(CAPTURE_USAGE);
      return 0;
    }
    config = captureConfig(captureProbeConfig(values));
  } catch (err) {
    const message = err instanceof ConfigError ? err.message.replace(/probes::packet_capture::/g, '') : (err as Error).message;
    process.stderr.write(`netprobe capture: ${message}\n\n${CAPTURE_USAGE}`);
    return 2;
  }
  setLogLevel(config.service.telemetry.logs.level);
  const log = createLogger();
  const service = new Service(config, plugins, log);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      const hardDeadline = setTimeout(() => {
        log.error('shutdown took too long; exiting (links close with the process)');
        process.exit(1);
      }, 15_000);
      hardDeadline.unref();
      service.shutdown({ finalCollect: false }).then(() => resolve(code), (err) => {
        log.error('shutdown failed', { error: err });
        resolve(1);
      });
    };
    service.onProbeFinished = (_probe, reason) => stop(/failed/.test(reason) ? 1 : 0);
    process.on('SIGINT', () => stop(0));
    process.on('SIGTERM', () => stop(0));
    process.on('SIGPIPE', () => undefined); // a closed stdout is an error on the stream, handled there
    service.start().then(() => {
      const probe = config.probes.packet_capture as { interfaces: string[]; snaplen: number; pcapng: { path: string } };
      process.stderr.write(`netprobe capture: listening on ${probe.interfaces.join(', ')}, snaplen ${probe.snaplen} bytes, writing ${probe.pcapng.path === '-' ? 'stdout' : probe.pcapng.path}\n`);
    }, (err) => {
      log.error((err as Error).message);
      stopping = true;
      resolve(1);
    });
  });
}
