/**
 * The health endpoint orchestrators probe (`extensions: health_check:`):
 *   GET /livez   200 while collection keeps its clock; 503 when no collection finished for
 *                three intervals (at least 30 s) after start: the process is stuck, restart it.
 *   GET /readyz  200 once every probe is attached and exporters run; 503 while starting or stopping.
 *   GET /        the same as /readyz, as the OpenTelemetry Collector's health_check answers.
 * Answers are small JSON documents; the server never delays collection.
 */
import http from 'node:http';
import { NetprobeError } from './errors';

export interface HealthCheckConfig { host: string; port: number }

export interface HealthSource {
  /** True from the end of start until shutdown begins. */
  readonly ready: boolean;
  /** When the last collection finished (ms since the epoch), if one did. */
  readonly lastCollectAt: number | undefined;
  /** When start finished (ms since the epoch), if it did. */
  readonly startedAt: number | undefined;
  readonly intervalMs: number;
}

export interface Health { status: number; body: Record<string, unknown> }

/** Liveness: stalled only when collection has had three intervals (30 s at least) to run and has not. */
export function liveness(source: HealthSource, now = Date.now()): Health {
  const allowedMs = Math.max(3 * source.intervalMs, 30_000);
  const since = source.lastCollectAt ?? source.startedAt;
  if (since !== undefined && now - since > allowedMs) {
    return { status: 503, body: { status: 'stalled', last_collection_age_s: Math.round((now - since) / 1000) } };
  }
  return { status: 200, body: { status: 'alive' } };
}

export function readiness(source: HealthSource): Health {
  if (source.ready) return { status: 200, body: { status: 'ready' } };
  return { status: 503, body: { status: source.startedAt === undefined ? 'starting' : 'stopping' } };
}

export class HealthServer {
  private constructor(private readonly server: http.Server, readonly address: string) {}

  /** Listens before any probe attaches, so a port in use fails the start with nothing attached. */
  static start(config: HealthCheckConfig, source: HealthSource): Promise<HealthServer> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const health = path === '/livez' ? liveness(source) : path === '/readyz' || path === '/' ? readiness(source) : undefined;
      if (!health || req.method !== 'GET') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /livez, /readyz or /\n');
        return;
      }
      res.writeHead(health.status, { 'content-type': 'application/json' }).end(JSON.stringify(health.body) + '\n');
    });
    server.keepAliveTimeout = 1000;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(new NetprobeError('NETPROBE_ERR_CONFIG', `extensions::health_check: cannot listen on ${config.host}:${config.port}: ${err.message}`)));
      server.listen(config.port, config.host, () => {
        server.unref();
        resolve(new HealthServer(server, `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
