import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InterfaceWatcher, sameInterfaces, selectInterfaces } from './interface-watcher';
import type { InterfaceInfo } from './interfaces';

const iface = (name: string, index: number, up = true, loopback = false): InterfaceInfo => ({ name, index, up, loopback });

test('auto selects the up, non-loopback interfaces; names select those that exist, in the order given', () => {
  const all = [iface('lo', 1, true, true), iface('eth0', 2), iface('eth1', 3, false), iface('veth9', 9)];
  assert.deepEqual(selectInterfaces('auto', all), [{ name: 'eth0', index: 2 }, { name: 'veth9', index: 9 }]);
  assert.deepEqual(selectInterfaces(['veth9', 'gone', 'eth1'], all), [{ name: 'veth9', index: 9 }, { name: 'eth1', index: 3 }]);
});

test('a name re-created with a new ifindex is a different set', () => {
  assert.ok(sameInterfaces([{ name: 'a', index: 4 }, { name: 'b', index: 5 }], [{ name: 'b', index: 5 }, { name: 'a', index: 4 }]));
  assert.ok(!sameInterfaces([{ name: 'a', index: 4 }], [{ name: 'a', index: 7 }]));
  assert.ok(!sameInterfaces([{ name: 'a', index: 4 }], []));
});

test('the watcher tells of a change only when a re-read differs (name, index or up)', () => {
  let links = [iface('eth0', 2)];
  let changes = 0;
  const watcher = new InterfaceWatcher(() => changes++, () => links);
  assert.equal(watcher.refresh(), false);
  links = [iface('eth0', 2), iface('veth1', 5, false)];
  assert.equal(watcher.refresh(), true);
  assert.deepEqual(watcher.select('auto'), [{ name: 'eth0', index: 2 }]);
  links = [iface('eth0', 2), iface('veth1', 5)]; // came up
  assert.equal(watcher.refresh(), true);
  assert.deepEqual(watcher.select('auto').map((i) => i.name), ['eth0', 'veth1']);
  links = [iface('eth0', 2), iface('veth1', 6)]; // deleted and re-created between two reads
  assert.equal(watcher.refresh(), true);
  assert.equal(changes, 3);
  watcher.stop();
  links = [];
  assert.equal(watcher.refresh(), false, 'nothing after stop');
});
