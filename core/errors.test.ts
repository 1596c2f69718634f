import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfLoadError, NetprobeError, wrapError } from './errors';

test('wrapError keeps a load error\'s class, code, verifier log and program', () => {
  const original = new BpfLoadError('loading x.bpf.o (program p): Permission denied (EACCES)', 'R1 invalid mem access', 'p');
  const wrapped = wrapError('starting probe x', original, 'NETPROBE_ERR_PLUGIN');
  assert.ok(wrapped instanceof BpfLoadError, 'still a BpfLoadError');
  const e = wrapped as BpfLoadError;
  assert.equal(e.code, 'NETPROBE_ERR_BPF_LOAD');
  assert.equal(e.program, 'p');
  assert.equal(e.verifierLog, 'R1 invalid mem access');
  assert.match(e.message, /^starting probe x: loading x\.bpf\.o/);
  assert.equal(e.cause, original);
  assert.match(e.stack ?? '', /^NetprobeError: starting probe x: /);
  assert.equal(original.message.startsWith('loading'), true, 'the original is left as it was');
});

test('wrapError gives an error without a code the fallback code, or keeps it a plain Error', () => {
  const plain = new Error('boom');
  const coded = wrapError('starting probe y', plain, 'NETPROBE_ERR_PLUGIN');
  assert.ok(coded instanceof NetprobeError);
  assert.equal((coded as NetprobeError).code, 'NETPROBE_ERR_PLUGIN');
  assert.equal(coded.message, 'starting probe y: boom');
  assert.equal(coded.cause, plain);
  const uncoded = wrapError('reading', 'text');
  assert.ok(!(uncoded instanceof NetprobeError));
  assert.equal(uncoded.message, 'reading: text');
});
