/**
 * The fuzz run, in a worker thread so that the test can stop it if the decoder
 * ever spun: thousands of random and mutated DNS messages through the decoder
 * and the consumer. Deterministic for a seed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as dnsPacket from 'dns-packet';
import { decodeMessage } from '../../../plugins/dns/message';
import { DnsConsumer } from '../../../plugins/dns/consumer';
import { buildRecord, eventDecoder, eventLayout, prng } from './test-records';

const { seed, random, mutated } = workerData as { seed: number; random: number; mutated: number };
const rand = prng(seed);
const int = (n: number) => Math.floor(rand() * n);

/** Valid messages to mutate: compression, long names, several records, EDNS0, TCP framing. */
function corpus(): Buffer[] {
  const l63 = 'x'.repeat(63);
  const msgs = [
    dnsPacket.encode({ id: 1, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'www.example.test', type: 'A' }] }),
    dnsPacket.encode({ id: 2, type: 'query', questions: [{ name: `${l63}.${l63}.${l63}.test`, type: 'AAAA' }],
      additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 1232, flags: 0, options: [] } as never] }),
    dnsPacket.encode({
      id: 3, type: 'response', flags: 0x8180, questions: [{ name: 'c.example.test', type: 'A' }],
      answers: [
        { name: 'c.example.test', type: 'CNAME', ttl: 60, data: 'b.example.test' },
        { name: 'b.example.test', type: 'CNAME', ttl: 60, data: 'a.example.test' },
        { name: 'a.example.test', type: 'A', ttl: 60, data: '192.0.2.7' },
      ],
    }),
    dnsPacket.encode({
      id: 4, type: 'response', flags: 0x8180, questions: [{ name: 'example.test', type: 'MX' }],
      answers: [
        { name: 'example.test', type: 'MX', ttl: 60, data: { preference: 10, exchange: 'mx.example.test' } },
        { name: 'example.test', type: 'TXT', ttl: 60, data: ['v=spf1 -all', 'second'] },
        { name: 'example.test', type: 'AAAA', ttl: 60, data: '2001:db8::53' },
        { name: 'example.test', type: 'SRV', ttl: 60, data: { priority: 1, weight: 2, port: 53, target: 'ns.example.test' } },
        { name: 'example.test', type: 'SOA', ttl: 60, data: { mname: 'ns.example.test', rname: 'h.example.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
      ],
    }),
    dnsPacket.encode({ id: 5, type: 'response', flags: 0x8183, questions: [{ name: 'nx.example.test', type: 'A' }] }),
  ];
  return msgs;
}

function mutate(base: Buffer): Buffer {
  let b = Buffer.from(base);
  const steps = 1 + int(4);
  for (let s = 0; s < steps; s++) {
    switch (int(6)) {
      case 0: b[int(b.length)]! ^= 1 << int(8); break; // flip a bit
      case 1: b[int(b.length)] = [0x00, 0x3f, 0x40, 0xc0, 0xff][int(5)]!; break; // label-type bytes
      case 2: b = b.subarray(0, int(b.length + 1)); break; // cut short
      case 3: if (b.length >= 12) b.writeUInt16BE(int(65536), 4 + 2 * int(4)); break; // a count
      case 4: { // a compression pointer anywhere, to anywhere (forward, self, past the end)
        if (b.length < 2) break;
        const at = int(b.length - 1);
        b.writeUInt16BE(0xc000 | int(Math.max(1, b.length + 16)), at);
        break;
      }
      case 5: b = Buffer.concat([b, Buffer.from(Array.from({ length: int(40) }, () => int(256)))]); break; // trailing junk
    }
  }
  return b;
}

/** Types whose data both decoders print the same way. */
const COMPARABLE_TYPES = new Set(['A', 'NS', 'CNAME', 'PTR', 'MX', 'TXT']);
const plainName = (n: string) => /^[\x21-\x7e]*$/.test(n) && !n.includes('\\');

function libraryData(type: string, data: unknown): string {
  if (type === 'MX') {
    const mx = data as { preference: number; exchange: string };
    return `${mx.preference} ${mx.exchange}`;
  }
  if (type === 'TXT') return (data as Buffer[]).map((b) => `"${b.toString('latin1')}"`).join(' ');
  return String(data);
}

/**
 * Differential check against dns-packet: where both decode a message, they must
 * agree on what the probe reports. Returns a difference, or undefined.
 */
function compareWithLibrary(bytes: Buffer): string | undefined {
  const mine = decodeMessage(bytes, 'udp');
  // We reject what the library lets through: it ignores RDLENGTH for A and name-only records.
  if (!mine.ok) return undefined;
  let lib: dnsPacket.Packet;
  try {
    lib = dnsPacket.decode(bytes);
  } catch {
    return undefined; // the library rejects it (it also decodes sections we skip)
  }
  const m = mine.message;
  libraryAgreements++;
  if (m.id !== lib.id || m.isResponse !== (lib.type === 'response') || m.truncated !== lib.flag_tc) return 'header';
  if (!/^RCODE_/.test(lib.rcode!) && m.rcode !== lib.rcode) return `rcode ${m.rcode} vs ${lib.rcode}`;
  if (m.questions.length !== lib.questions!.length) return 'question count';
  for (const [i, q] of m.questions.entries()) {
    const l = lib.questions![i]!;
    if (plainName(l.name) && plainName(q.name) && l.name !== q.name) return `question name ${q.name} vs ${l.name}`;
    if (COMPARABLE_TYPES.has(l.type) && l.type !== q.type) return `question type ${q.type} vs ${l.type}`;
  }
  if (m.answers.length !== lib.answers!.length) return 'answer count';
  for (const [i, a] of m.answers.entries()) {
    const l = lib.answers![i]!;
    if (plainName(l.name) && plainName(a.name) && l.name !== a.name) return `answer name ${a.name} vs ${l.name}`;
    if (!COMPARABLE_TYPES.has(l.type)) continue;
    if (l.type !== a.type) return `answer type ${a.type} vs ${l.type}`;
    const data = libraryData(l.type, l.data);
    if (/^[\x20-\x7e]*$/.test(data) && !data.includes('\\') && data !== a.data) return `answer data ${a.data} vs ${data}`;
  }
  return undefined;
}

let libraryAgreements = 0;
const differences: string[] = [];

const layout = eventLayout();
const consumer = new DnsConsumer(eventDecoder(), {
  timeoutNs: 1e9, maxPending: 1000, nameAttribute: { enabled: true, limit: 50 },
  interfaceName: () => 'fuzz0', emit: () => {},
});

let ok = 0;
let malformed = 0;
let thrown = 0;
const inputs: Array<{ bytes: Buffer; tcp: boolean }> = [];
for (let i = 0; i < random; i++) inputs.push({ bytes: Buffer.from(Array.from({ length: int(700) }, () => int(256))), tcp: rand() < 0.2 });
const base = corpus();
for (let i = 0; i < mutated; i++) {
  const m = mutate(base[int(base.length)]!);
  const tcp = rand() < 0.2;
  inputs.push({ bytes: tcp ? Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]) : m, tcp });
}

/** Messages between progress reports: the test's watchdog waits for the next one. */
const PROGRESS_EVERY = 100;

for (const [i, input] of inputs.entries()) {
  if (i % PROGRESS_EVERY === 0) parentPort!.postMessage({ progress: i });
  try {
    const r = decodeMessage(input.bytes, input.tcp ? 'tcp' : 'udp');
    if (r.ok) ok++;
    else malformed++;
    if (!input.tcp) {
      const difference = compareWithLibrary(input.bytes);
      if (difference && differences.length < 5) differences.push(`${difference}: ${input.bytes.toString('hex')}`);
    }
    consumer.handle(buildRecord(layout, {
      timestampNs: i, tcp: input.tcp, source: '10.0.0.1', sourcePort: 1024 + (i % 1000), destination: '10.0.0.2', destinationPort: 53,
      payload: input.bytes.subarray(0, 2048),
    }));
  } catch {
    thrown++;
  }
}
consumer.expire(Number.MAX_SAFE_INTEGER);

let consumerMalformed = 0;
let consumerMessages = 0;
consumer.report({
  record: (metric, _attrs, value) => {
    if (metric === 'netprobe.dns.malformed') consumerMalformed += value as number;
    if (metric === 'netprobe.dns.queries' || metric === 'netprobe.dns.responses') consumerMessages += value as number;
  },
});
parentPort!.postMessage({ total: inputs.length, ok, malformed, thrown, consumerMalformed, consumerMessages, libraryAgreements, differences });
