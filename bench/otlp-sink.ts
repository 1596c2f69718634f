/**
 * A local OTLP/HTTP logs receiver for benchmarks, run as a child process so its
 * work is not on the measured thread: it accepts POST /v1/logs (protobuf, what a
 * collector takes by default), walks each ExportLogsServiceRequest and tells the
 * parent how many log records arrived, with which event name, and how many
 * attributes the sender said it dropped. The parent only counts a rate when every
 * record it emitted arrived whole.
 */
import http from 'node:http';

export interface SinkReport {
  requests: number;
  records: number;
  /** Records per event name. */
  events: Record<string, number>;
  /** Sum of LogRecord.dropped_attributes_count. */
  droppedAttributes: number;
  /** Requests that were not protobuf OTLP logs. */
  rejected: number;
}

/** Protobuf wire-format reading: just enough to walk nested messages. */
class Wire {
  pos: number;
  constructor(readonly buf: Buffer, from: number, readonly end: number) {
    this.pos = from;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  }

  /** Calls `field` with each field number and wire type; `field` consumes LEN fields it wants, else they are skipped. */
  fields(field: (no: number, wireType: number, len: number, at: number) => void): void {
    while (this.pos < this.end) {
      const tag = this.varint();
      const type = tag & 7;
      const no = tag >>> 3;
      if (type === 0) field(no, type, this.varint(), this.pos);
      else if (type === 1) { field(no, type, 8, this.pos); this.pos += 8; }
      else if (type === 5) { field(no, type, 4, this.pos); this.pos += 4; }
      else if (type === 2) {
        const len = this.varint();
        if (this.pos + len > this.end) throw new Error('truncated field');
        field(no, type, len, this.pos);
        this.pos += len;
      } else throw new Error(`wire type ${type}`);
    }
  }
}

/** Counts the log records of one ExportLogsServiceRequest into `report`. */
export function countLogRecords(body: Buffer, report: SinkReport): void {
  new Wire(body, 0, body.length).fields((no, type, len, at) => {
    if (no !== 1 || type !== 2) return; // resource_logs
    new Wire(body, at, at + len).fields((no2, type2, len2, at2) => {
      if (no2 !== 2 || type2 !== 2) return; // scope_logs
      new Wire(body, at2, at2 + len2).fields((no3, type3, len3, at3) => {
        if (no3 !== 2 || type3 !== 2) return; // log_records
        let eventName = '';
        new Wire(body, at3, at3 + len3).fields((no4, type4, value, at4) => {
          if (no4 === 7 && type4 === 0) report.droppedAttributes += value; // dropped_attributes_count
          if (no4 === 12 && type4 === 2) eventName = body.toString('utf8', at4, at4 + value); // event_name
        });
        report.records++;
        report.events[eventName] = (report.events[eventName] ?? 0) + 1;
      });
    });
  });
}

/**
 * Request bodies are gathered into reused buffers, not concatenated into fresh ones:
 * on the VMs we measure on, touching new memory (~0.8 ms per 420 KiB request) cost
 * the sink more than reading the request, and its answer came that much later.
 */
class BodyBuffers {
  private readonly spare: Buffer[] = [];

  take(size: number): Buffer {
    const i = this.spare.findIndex((b) => b.length >= size);
    return i >= 0 ? this.spare.splice(i, 1)[0]! : Buffer.allocUnsafe(Math.max(size, 1 << 20));
  }

  give(buf: Buffer): void {
    if (this.spare.length < 4) this.spare.push(buf);
  }
}

function main(): void {
  const report: SinkReport = { requests: 0, records: 0, events: {}, droppedAttributes: 0, rejected: 0 };
  const buffers = new BodyBuffers();
  const server = http.createServer((req, res) => {
    let body = buffers.take(Number(req.headers['content-length'] ?? 0));
    let length = 0;
    req.on('data', (c: Buffer) => {
      if (length + c.length > body.length) {
        const bigger = buffers.take(2 * (length + c.length));
        body.copy(bigger, 0, 0, length);
        buffers.give(body);
        body = bigger;
      }
      length += c.copy(body, length);
    });
    req.on('end', () => {
      report.requests++;
      try {
        if (req.method !== 'POST' || req.url !== '/v1/logs' || req.headers['content-type'] !== 'application/x-protobuf') throw new Error('not OTLP/HTTP protobuf logs');
        // Accepted at once, as a collector answers once its queue took the request; counted after.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(); // an empty ExportLogsServiceResponse: all accepted
        countLogRecords(body.subarray(0, length), report);
      } catch {
        report.rejected++;
        res.writeHead(400).end();
      }
      buffers.give(body);
      process.send!(report);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) main();
