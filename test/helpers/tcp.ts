/**
 * TCP traffic with known shapes for kernel tests: a server and a client
 * as small node scripts, run in test namespaces and in a test cgroup.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { TestNet } from './netns';
import type { TestCgroup } from './cgroup';
import { patience } from './slowdown';

/** What one client connection does: send `request` bytes, read `response` bytes, hold, then close or reset. */
export interface Exchange { request: number; response: number; holdMs: number; end: 'close' | 'reset' }

/**
 * Answers each connection: reads the request (its size is the first 4 bytes, big endian,
 * counted in it), sends `response` bytes as asked in bytes 4..7, and ends when the client does.
 */
const SERVER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
net.createServer((s) => {
  let got = Buffer.alloc(0), answered = false;
  s.on('data', (d) => {
    got = Buffer.concat([got, d]);
    if (!answered && got.length >= 8 && got.length >= got.readUInt32BE(0)) {
      answered = true;
      s.write(Buffer.alloc(got.readUInt32BE(4), 0x62));
    }
  });
  s.on('end', () => s.end());
  s.on('error', () => {});
}).listen(Number(port), host, () => console.log('up'));`;

const CLIENT = `
const net = require('node:net');
const [host, port, plan] = process.argv.slice(1);
(async () => {
  const out = [];
  for (const x of JSON.parse(plan)) {
    out.push(await new Promise((resolve, reject) => {
      const s = net.connect({ host, port: Number(port) });
      let got = 0, local = 0;
      s.on('connect', () => {
        local = s.localPort;
        const req = Buffer.alloc(x.request, 0x61);
        req.writeUInt32BE(x.request, 0);
        req.writeUInt32BE(x.response, 4);
        s.write(req);
      });
      s.on('data', (d) => {
        got += d.length;
        if (got === x.response) setTimeout(() => (x.end === 'reset' ? s.resetAndDestroy() : s.end()), x.holdMs);
      });
      s.on('close', () => resolve({ port: local, received: got }));
      s.on('error', (e) => (x.end === 'reset' ? undefined : reject(e)));
    }));
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e.message); process.exit(1); });`;

/** A connect() that is expected to fail; prints the error code. */
const FAILING_CLIENT = `
const [host, port] = process.argv.slice(1);
const s = require('node:net').connect({ host, port: Number(port) });
s.on('connect', () => { console.log('connected'); process.exit(1); });
s.on('error', (e) => { console.log(e.code); });`;

export async function startServer(net: TestNet, cgroup: TestCgroup, ns: string, host: string, port: number): Promise<ChildProcess> {
  const child = cgroup.spawn(net, ns, [process.execPath, '-e', SERVER, host, String(port)]);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), patience(10_000));
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return child;
}

/** Runs the exchanges one after another from `ns`; returns each connection's client port. */
export function runClient(net: TestNet, cgroup: TestCgroup, ns: string, host: string, port: number, plan: Exchange[]): number[] {
  for (const x of plan) assert.ok(x.request >= 8, 'a request carries its own size in 8 bytes');
  const out = JSON.parse(cgroup.exec(net, ns, [process.execPath, '-e', CLIENT, host, String(port), JSON.stringify(plan)])) as Array<{ port: number; received: number }>;
  plan.forEach((x, i) => assert.equal(out[i]!.received, x.response, 'the client got the whole response'));
  return out.map((o) => o.port);
}

/** A connect() that fails; returns the error code node saw (ECONNREFUSED, ETIMEDOUT, ...). */
export function failingConnect(net: TestNet, cgroup: TestCgroup, ns: string, host: string, port: number): string {
  return cgroup.exec(net, ns, [process.execPath, '-e', FAILING_CLIENT, host, String(port)]).trim();
}

/**
 * Opens `count` connections one after another (each sends `request` bytes and reads `response`),
 * prints their client ports, holds them all open until a line arrives on stdin, then sends
 * `more` bytes on each, ends them all at once and prints "closed" when every one has closed.
 */
const HOLDING_CLIENT = `
const net = require('node:net');
const [host, port, count, request, response, more] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
(async () => {
  const sockets = [];
  for (let i = 0; i < count; i++) {
    sockets.push(await new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      let got = 0;
      s.on('connect', () => {
        const req = Buffer.alloc(request, 0x61);
        req.writeUInt32BE(request, 0);
        req.writeUInt32BE(response, 4);
        s.write(req);
      });
      s.on('data', (d) => { got += d.length; if (got === response) resolve(s); });
      s.on('error', reject);
    }));
  }
  console.log(JSON.stringify(sockets.map((s) => s.localPort)));
  process.stdin.once('data', async () => {
    await Promise.all(sockets.map((s) => new Promise((resolve) => {
      s.on('close', resolve);
      if (more) s.write(Buffer.alloc(more, 0x63));
      s.end();
    })));
    console.log('closed');
    process.exit(0);
  });
})().catch((e) => { console.error(e.message); process.exit(1); });`;

export interface HeldConnections {
  ports: number[];
  /** Sends `more` bytes on each, closes them all, resolves once all closed. */
  close(): Promise<void>;
}

export async function holdConnections(
  net: TestNet, cgroup: TestCgroup, ns: string, host: string, port: number,
  shape: { count: number; request: number; response: number; more?: number },
): Promise<HeldConnections> {
  const child = cgroup.spawn(net, ns, [process.execPath, '-e', HOLDING_CLIENT, host, String(port),
    String(shape.count), String(shape.request), String(shape.response), String(shape.more ?? 0)]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const waitFor = async (re: RegExp, what: string) => {
    for (let i = 0; i < 300 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    if (!re.test(out)) throw new Error(`holding client: ${what} did not happen: ${err}`);
  };
  await waitFor(/^\[.*\]\n/, 'opening');
  const ports = JSON.parse(out.split('\n')[0]!) as number[];
  return {
    ports,
    close: async () => {
      child.stdin!.write('go\n');
      await waitFor(/closed/, 'closing');
    },
  };
}
