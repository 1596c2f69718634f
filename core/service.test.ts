import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Service, SHUTDOWN_FLUSH_MS } from './service';
import { parseConfig } from './config/load';
import { plugins } from '../plugins/registry';
import { createLogger, type Logger } from './log';
import type { ProbeInstance, ProbePlugin } from './plugin/types';

const config = parseConfig(`
exporters: { debug: }
service: { interval: 1s, pipelines: { metrics: { exporters: [debug] } } }
`, 'inline', plugins, {});

/** A logger that keeps what it was told. */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const make = (): Logger => ({
    debug: (msg) => lines.push({ level: 'debug', msg }),
    info: (msg) => lines.push({ level: 'info', msg }),
    warn: (msg) => lines.push({ level: 'warn', msg }),
    error: (msg) => lines.push({ level: 'error', msg }),
    child: () => make(),
  });
  return Object.assign(make(), { lines });
}

/** A probe without BPF whose collect() does what the test says: for the service's own behaviour. */
function scriptedProbe(collect: ProbeInstance['collect'], calls: { collect: number; stop: number }): ProbePlugin {
  return {
    type: 'scripted', description: 'test probe', directory: __dirname, attaches: 'nothing', object: 'none.bpf.o',
    reads: { maps: [], ringBuffers: [] }, configSchema: { type: 'object' }, metrics: [], logRecords: [],
    exampleConfig: () => ({}),
    create: () => ({
      start: () => undefined,
      collect: (sink) => {
        calls.collect++;
        return collect(sink);
      },
      stop: () => {
        calls.stop++;
      },
    }),
  };
}

function scriptedConfig(plugin: ProbePlugin) {
  return parseConfig(`
probes: { scripted: }
exporters: { debug: { verbosity: basic } }
service: { interval: 100ms, pipelines: { metrics: { probes: [scripted], exporters: [debug] } } }
`, 'inline', [plugin], {});
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('shutdown is safe before start and twice', async () => {
  const service = new Service(config, plugins, createLogger('test'), {});
  await service.shutdown();
  await service.shutdown();
});

test('a started service stops cleanly, twice', async () => {
  const service = new Service(config, plugins, createLogger('test'), {});
  await service.start();
  assert.deepEqual(service.exporterDescriptions, ['debug: metrics to stdout']);
  await Promise.all([service.shutdown(), service.shutdown()]);
});

test('a stopped service really stopped: its probe was stopped and is never collected again', async () => {
  const calls = { collect: 0, stop: 0 };
  const plugin = scriptedProbe(() => undefined, calls);
  const service = new Service(scriptedConfig(plugin), [plugin], recordingLogger(), {});
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const timersBefore = timers();
  await service.start();
  await sleep(350); // about three intervals of 100 ms
  assert.ok(calls.collect >= 2, `collected on the service's clock (${calls.collect} times)`);
  await service.shutdown();
  assert.equal(calls.stop, 1, 'the probe was stopped');
  assert.equal(timers(), timersBefore, 'no timer of the service is left (the process can exit)');
  const after = calls.collect;
  await sleep(350);
  assert.equal(calls.collect, after, 'no collection after shutdown');
  await service.tick();
  assert.equal(calls.collect, after, 'a tick after shutdown collects nothing');
});

test('a failing collect is logged once until the probe recovers, then once again', async () => {
  let failing = true;
  const calls = { collect: 0, stop: 0 };
  const plugin = scriptedProbe(() => {
    if (failing) throw new Error('map read failed');
  }, calls);
  const log = recordingLogger();
  const service = new Service(scriptedConfig(plugin), [plugin], log, {});
  await service.start();
  try {
    const failures = () => log.lines.filter((l) => l.level === 'error' && l.msg === 'collecting probe failed').length;
    for (let i = 0; i < 4; i++) await service.tick();
    assert.equal(failures(), 1, 'four failed collections, one error line');
    failing = false;
    await service.tick();
    failing = true;
    await service.tick();
    await service.tick();
    assert.equal(failures(), 2, 'after a recovery the next failure is logged again, once');
  } finally {
    await service.shutdown({ finalCollect: false });
  }
});

test('shutdown gives up on a collection that never ends, after the deadline, and still stops the probe', { timeout: 4 * SHUTDOWN_FLUSH_MS }, async () => {
  const calls = { collect: 0, stop: 0 };
  let hang = false;
  const plugin = scriptedProbe(() => (hang ? new Promise<void>(() => undefined) : undefined), calls);
  const log = recordingLogger();
  const service = new Service(scriptedConfig(plugin), [plugin], log, {});
  await service.start();
  hang = true;
  const started = Date.now();
  await service.shutdown();
  const took = Date.now() - started;
  assert.ok(took >= SHUTDOWN_FLUSH_MS - 50, `waited for the collection up to the deadline (${took} ms)`);
  assert.ok(took < 2 * SHUTDOWN_FLUSH_MS + 1000, `then gave up (${took} ms)`);
  assert.ok(log.lines.some((l) => l.level === 'warn' && /stopped waiting/.test(l.msg)), 'said it stopped waiting');
  assert.equal(calls.stop, 1, 'the probe was stopped anyway');
});
