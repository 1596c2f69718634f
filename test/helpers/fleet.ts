/**
 * A simulated fleet: one hub namespace (the backends) and N agent namespaces, each joined to
 * the hub by two veth pairs: a data link whose traffic the agent counts, and an export link
 * its OTLP goes over (so exports never show up in the counts and their bytes are measured
 * alone). Addresses exist only inside these namespaces; IPv6 off, neighbours pinned, so the
 * data links carry exactly the packets the test sends. Every name is unique to the process.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { sh } from './netns';

export interface Agent {
  index: number;
  ns: string;
  /** The agent's end of its data link (what its probe attaches to) and its address. */
  dataIf: string;
  dataIp: string;
  /** The hub's end of the agent's export link, and the hub's address on it. */
  hubExportIf: string;
  hubExportIp: string;
}

export class Fleet {
  readonly hub: string;
  readonly agents: Agent[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly namespaces: string[] = [];

  private constructor(private readonly tag: string) {
    this.hub = `np-${tag}-hub`;
  }

  static create(size: number): Fleet {
    if (size > 250) throw new Error('at most 250 agents');
    const fleet = new Fleet(`f${process.pid % 100000}`);
    try {
      fleet.addNamespace(fleet.hub);
      for (let i = 0; i < size; i++) fleet.addAgent(i);
    } catch (err) {
      fleet.cleanup();
      throw err;
    }
    return fleet;
  }

  private addNamespace(ns: string): void {
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
    this.exec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }

  private addAgent(i: number): void {
    const ns = `np-${this.tag}-${i}`;
    this.addNamespace(ns);
    const [dataHub, dataAgent] = this.link(ns, `${this.tag}d${i}`, `10.221.${i}.1`, `10.221.${i}.2`);
    const [exportHub] = this.link(ns, `${this.tag}e${i}`, `10.222.${i}.1`, `10.222.${i}.2`);
    void dataHub;
    this.agents.push({ index: i, ns, dataIf: dataAgent, dataIp: `10.221.${i}.2`, hubExportIf: exportHub, hubExportIp: `10.222.${i}.1` });
  }

  /** A veth pair hub <-> ns, addressed /30, up, neighbours pinned both ways. Returns [hub end, agent end]. */
  private link(ns: string, base: string, hubIp: string, agentIp: string): [string, string] {
    const hubIf = `${base}h`;
    const agentIf = `${base}a`;
    sh('ip', ['link', 'add', hubIf, 'netns', this.hub, 'type', 'veth', 'peer', 'name', agentIf, 'netns', ns]);
    this.exec(this.hub, ['ip', 'addr', 'add', `${hubIp}/30`, 'dev', hubIf]);
    this.exec(ns, ['ip', 'addr', 'add', `${agentIp}/30`, 'dev', agentIf]);
    this.exec(this.hub, ['ip', 'link', 'set', hubIf, 'up']);
    this.exec(ns, ['ip', 'link', 'set', agentIf, 'up']);
    const macHub = this.exec(this.hub, ['cat', `/sys/class/net/${hubIf}/address`]).trim();
    const macAgent = this.exec(ns, ['cat', `/sys/class/net/${agentIf}/address`]).trim();
    this.exec(this.hub, ['ip', 'neigh', 'replace', agentIp, 'lladdr', macAgent, 'dev', hubIf, 'nud', 'permanent']);
    this.exec(ns, ['ip', 'neigh', 'replace', hubIp, 'lladdr', macHub, 'dev', agentIf, 'nud', 'permanent']);
    return [hubIf, agentIf];
  }

  exec(ns: string, args: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', ns, ...args], input);
  }

  /** A long-running process in `ns`, killed at cleanup. */
  spawn(ns: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.children.push(child);
    return child;
  }

  /** Bytes the hub received on an agent's export link so far. */
  exportBytes(agent: Agent): number {
    return Number(this.exec(this.hub, ['cat', `/sys/class/net/${agent.hubExportIf}/statistics/rx_bytes`]));
  }

  cleanup(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  }
}
