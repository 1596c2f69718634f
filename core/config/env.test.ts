import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substituteEnv, type SubstitutionError } from './env';
import { parseDuration, isDuration } from './duration';

function sub(value: unknown, env: Record<string, string>) {
  const errors: SubstitutionError[] = [];
  return { value: substituteEnv(value, env, errors), errors };
}

test('a whole-value reference takes the YAML type of the variable', () => {
  assert.deepEqual(sub({ a: '${env:N}', b: '${env:B}', c: '${env:S}' }, { N: '42', B: 'true', S: 'eth0' }).value, { a: 42, b: true, c: 'eth0' });
});

test('references inside text stay text', () => {
  assert.equal(sub('http://${env:H}:${env:P}/x', { H: 'h', P: '1' }).value, 'http://h:1/x');
});

test('defaults apply when unset or empty', () => {
  assert.equal(sub('${env:X:-fallback}', {}).value, 'fallback');
  assert.equal(sub('${env:X:-fallback}', { X: '' }).value, 'fallback');
  assert.equal(sub('${env:X:-}', {}).value, '');
});

test('$$ is a literal dollar and is not expanded further', () => {
  assert.equal(sub('$${env:X}', { X: 'no' }).value, '${env:X}');
});

test('an unset variable without default is an error at its path', () => {
  const { errors } = sub({ list: ['a', '${env:MISSING}'] }, {});
  assert.equal(errors.length, 1);
  assert.deepEqual(errors[0]!.path, ['list', '[1]']);
  assert.match(errors[0]!.message, /MISSING is not set/);
});

test('unsupported reference syntax is reported', () => {
  const { errors } = sub('${file:/etc/passwd}', {});
  assert.match(errors[0]!.message, /unsupported reference/);
});

test('values from variables cannot inject YAML structure', () => {
  assert.equal(sub('${env:V}', { V: '{a: 1}' }).value, '{a: 1}');
});

test('durations', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  for (const bad of ['10', '10 s', 's', '-1s', '1d']) assert.equal(isDuration(bad), false, bad);
});
