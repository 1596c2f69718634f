/** Every probe plugin. Adding a probe: one folder under plugins/ and one line here. */
import type { ProbePlugin } from '../core/plugin/types';
import { xdpCounter } from './xdp-counter/plugin';
import { flowStats } from './flow-stats/plugin';
import { dns } from './dns/plugin';
import { conntrack } from './conntrack/plugin';
import { packetCapture } from './packet-capture/plugin';
import { drops } from './drops/plugin';

export const plugins: readonly ProbePlugin<any>[] = [
  xdpCounter,
  flowStats,
  dns,
  conntrack,
  packetCapture,
  drops,
];
