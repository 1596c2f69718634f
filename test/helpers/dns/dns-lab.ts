/**
 * Test support: a DNS lab between the two namespaces of a TestNet. dnsmasq
 * (Debian's dnsmasq-base) serves a small zone on nsB, with a failing upstream for
 * SERVFAIL; dig (bind9-dnsutils) asks from nsA.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import type { TestNet } from '../netns';
import { patience } from '../slowdown';

export const TOOLS = [['dnsmasq', 'dnsmasq-base'], ['dig', 'bind9-dnsutils'], ['tshark', 'tshark']] as const;

export function toolsAvailable(t: { skip(msg: string): void }): boolean {
  const missing = TOOLS.filter(([tool]) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0).map(([, pkg]) => pkg);
  if (missing.length === 0) return true;
  const why = `needs the Debian packages ${missing.join(', ')}`;
  if (process.env.CI) throw new Error(why);
  t.skip(why);
  return false;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a line matching `pattern` on a child's stderr (bounded). */
export function waitForStderr(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${text}`)), patience(20_000));
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${text}`)));
  });
}

export const L63 = 'l'.repeat(63);
/** 60 + 60 + 60 + 62 label bytes, 3 dots, ".test": 250 characters, 252 bytes on the wire. */
export const NAME250 = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(62)}.test`;
const BIG_TXT = Array.from({ length: 10 }, (_, i) => `${i}`.repeat(60));

export interface Case {
  name: string;
  type: string;
  v6?: boolean;
  tcp?: boolean;
  port?: number;
  digFlags?: string[];
  rcode?: string;
  answers?: string[];
  truncated?: boolean;
  unanswered?: boolean;
}

export const CASES: Case[] = [
  { name: 'a.test', type: 'A', answers: ['A 10.0.0.1'] },
  { name: 'v6.test', type: 'AAAA', answers: ['AAAA fd00::5'] },
  { name: 'mail.test', type: 'MX', answers: ['MX 10 mx1.test'] },
  { name: 'txt.test', type: 'TXT', answers: ['TXT "hello world" "second"'] },
  { name: 'c1.test', type: 'A', answers: ['CNAME c2.test', 'CNAME a.test', 'A 10.0.0.1'] },
  { name: 'nx.test', type: 'A', rcode: 'NXDOMAIN', answers: [] },
  { name: 'x.fail.test', type: 'A', rcode: 'SERVFAIL', answers: [] },
  { name: `${L63}.test`, type: 'A', answers: ['A 10.0.0.7'] },
  { name: NAME250, type: 'A', answers: ['A 10.0.0.8'] },
  { name: 'A.TeSt', type: 'A', answers: ['A 10.0.0.1'] },
  { name: 'a.test', type: 'A', tcp: true, answers: ['A 10.0.0.1'] },
  { name: 'txt.test', type: 'TXT', tcp: true, answers: ['TXT "hello world" "second"'] },
  { name: 'big.test', type: 'TXT', digFlags: ['+noedns', '+ignore'], truncated: true },
  { name: 'both.test', type: 'AAAA', v6: true, answers: ['AAAA fd00::6'] },
  { name: 'a.test', type: 'A', v6: true, tcp: true, answers: ['A 10.0.0.1'] },
  { name: 'a.test', type: 'A', port: 5353, unanswered: true },
];

function dnsmasqConfig(net: TestNet, dir: string, extra: readonly string[]): string {
  const file = path.join(dir, 'dnsmasq.conf');
  fs.writeFileSync(file, [
    'no-resolv', 'no-hosts', 'bind-interfaces', 'port=53',
    `listen-address=${net.ipB}`, `listen-address=${net.ip6B}`,
    'local=/test/',
    'host-record=a.test,10.0.0.1', 'host-record=v6.test,fd00::5', 'host-record=both.test,10.0.0.2,fd00::6',
    `host-record=${L63}.test,10.0.0.7`, `host-record=${NAME250},10.0.0.8`,
    'cname=c1.test,c2.test', 'cname=c2.test,a.test',
    'mx-host=mail.test,mx1.test,10',
    'txt-record=txt.test,"hello world","second"',
    `txt-record=big.test,${BIG_TXT.map((s) => `"${s}"`).join(',')}`,
    // SERVFAIL comes from an upstream that always fails, relayed by dnsmasq.
    'server=/fail.test/127.0.0.1#5399',
    ...extra,
  ].join('\n') + '\n');
  return file;
}

/** An upstream for dnsmasq that answers everything with SERVFAIL. */
function failingUpstream(): string {
  return `
    const dnsPacket = require(${JSON.stringify(require.resolve('dns-packet'))});
    const s = require('node:dgram').createSocket('udp4');
    s.on('message', (m, r) => {
      const q = dnsPacket.decode(m);
      s.send(dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | 2, questions: q.questions }), r.port, r.address);
    });
    s.bind(5399, '127.0.0.1', () => console.error('listening'));`;
}


/**
 * Starts the SERVFAIL upstream and dnsmasq in nsB; resolves once dnsmasq answers (before any probe runs).
 * `extra`: more dnsmasq config lines, e.g. `host-record=web.test,10.252.1.6`.
 */
export async function startDnsServer(net: TestNet, dir: string, extra: readonly string[] = []): Promise<void> {
  const upstream = net.spawn(net.nsB, [process.execPath, '-e', failingUpstream()]);
  await waitForStderr(upstream, /listening/, 'the SERVFAIL upstream');
  net.spawn(net.nsB, ['dnsmasq', '--keep-in-foreground', `--conf-file=${dnsmasqConfig(net, dir, extra)}`,
    `--pid-file=${path.join(dir, 'dnsmasq.pid')}`, `--log-facility=${path.join(dir, 'dnsmasq.log')}`]);
  for (let i = 0; ; i++) {
    try {
      if (net.exec(net.nsA, ['dig', `@${net.ipB}`, 'a.test', '+short', '+tries=1', '+time=1']).includes('10.0.0.1')) return;
    } catch { /* not yet */ }
    assert.ok(i < 40, 'dnsmasq did not come up');
    await sleep(100);
  }
}

/** Asks one question with dig from nsA; an unanswered question is not an error. */
export function dig(net: TestNet, c: Case): void {
  const server = c.v6 ? net.ip6B! : net.ipB;
  const args = ['dig', `@${server}`, '-p', String(c.port ?? 53), c.name, c.type, '+tries=1', '+time=1', ...(c.tcp ? ['+tcp'] : []), ...(c.digFlags ?? [])];
  try {
    net.exec(net.nsA, args);
  } catch (err) {
    if (!c.unanswered) throw err; // the unanswered query ends in "connection refused" or a timeout
  }
}
