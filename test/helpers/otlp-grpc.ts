/**
 * A real OTLP/gRPC receiver for tests, built at run time from the official
 * opentelemetry-proto service definitions with @grpc/proto-loader and @grpc/grpc-js.
 * It stores every Export request it receives, decoded, as JSON, and answers OK.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestNet } from './netns';
import { protoInclude } from './backends';

/** The receiver's code, run as its own process inside a namespace. */
const receiver = (dir: string, port: number) => `
const grpc = require(${JSON.stringify(require.resolve('@grpc/grpc-js'))});
const loader = require(${JSON.stringify(require.resolve('@grpc/proto-loader'))});
const fs = require('node:fs');
const files = ['metrics', 'logs'].map((s) => 'opentelemetry/proto/collector/' + s + '/v1/' + s + '_service.proto');
const def = loader.loadSync(files, { includeDirs: [${JSON.stringify(protoInclude)}], longs: String, enums: String, bytes: String, defaults: false, oneofs: true });
const pkg = grpc.loadPackageDefinition(def).opentelemetry.proto.collector;
let n = 0;
const store = (signal) => (call, reply) => {
  fs.writeFileSync(${JSON.stringify(dir)} + '/' + (n++) + '-' + signal + '.json', JSON.stringify({ metadata: call.metadata.getMap(), request: call.request }));
  reply(null, {});
};
const server = new grpc.Server();
server.addService(pkg.metrics.v1.MetricsService.service, { Export: store('metrics') });
server.addService(pkg.logs.v1.LogsService.service, { Export: store('logs') });
server.bindAsync('127.0.0.1:${port}', grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  fs.writeFileSync(${JSON.stringify(dir)} + '/ready', '');
});`;

/** Starts the receiver on `ns`'s 127.0.0.1:`port`; resolves to the directory it stores requests in, once it listens. */
export async function startOtlpGrpcReceiver(net: TestNet, ns: string, port = 4317): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-grpc-'));
  const child = net.spawn(ns, [process.execPath, '-e', receiver(dir, port)]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!fs.existsSync(path.join(dir, 'ready'))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`OTLP/gRPC receiver did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return dir;
}

export interface GrpcExport { metadata: Record<string, string>; request: Record<string, any> }

/** The requests the receiver stored for one signal, in arrival order. */
export function grpcExports(dir: string, signal: 'metrics' | 'logs'): GrpcExport[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith(`-${signal}.json`)).sort((a, b) => parseInt(a) - parseInt(b))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as GrpcExport);
}
