/**
 * One probe instance's lifecycle, owned by core: start, collect, stop. stop() is
 * safe before start() and safe twice; a failed start releases what it opened.
 * A probe that selects interfaces is started again on a new set when they change
 * (reattach): each start gets a fresh host, so the old links are all released first.
 */
import path from 'node:path';
import { TrackingHost, type Attachment } from './host';
import { createSharedFacts } from '../facts/shared-facts';
import { wrapError } from '../errors';
import type { Logger } from '../log';
import { resolveAtStart, type NetInterface } from '../net/interface-watcher';
import type { Attributes, MetricSink, ProbeInstance, ProbePlugin, SharedFacts } from './types';

export type EmitEvent = (probeId: string, eventName: string, attributes: Attributes, body?: string) => void;
export type ProbeFinished = (probeId: string, reason: string) => void;

export class ProbeRunner {
  private instance: ProbeInstance | undefined;
  private host: TrackingHost;
  /** waiting: between instances (the selected interfaces are all gone, or a restart failed). */
  private state: 'new' | 'running' | 'waiting' | 'stopped' = 'new';

  constructor(
    readonly id: string,
    readonly plugin: ProbePlugin,
    private readonly config: unknown,
    private readonly log: Logger,
    private readonly emit: EmitEvent,
    private readonly xdpClaims: Map<string, string>,
    /** One set for all the probes of a collector (a runner alone gets its own). */
    private readonly facts: SharedFacts = createSharedFacts(),
    private readonly onFinished?: ProbeFinished,
    /** The interfaces its `interfaces` config selects, resolved by core (by default: now, from the config). */
    private selected?: readonly NetInterface[],
  ) {
    this.host = this.newHost();
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get interfaces(): readonly NetInterface[] {
    return this.selected ?? [];
  }

  get attachments(): readonly Attachment[] {
    return this.host.attachments;
  }

  /** The programs the probe has loaded, while it runs. */
  programs(): Array<{ name: string; fd: number }> {
    return this.state === 'running' ? this.host.programs() : [];
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`probe ${this.id} was already started`);
    if (this.selected === undefined) {
      try {
        this.selected = resolveAtStart(this.config);
      } catch (err) {
        this.state = 'stopped';
        throw wrapError(`starting probe ${this.id}`, err);
      }
    }
    await this.startInstance();
  }

  /**
   * Releases the running instance (its stop() and every link) and starts a new one on
   * `interfaces`; with none, it waits for them. A failed start is thrown, the probe waits.
   */
  async reattach(interfaces: readonly NetInterface[]): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.state === 'running') await this.release();
    this.selected = interfaces;
    this.state = 'waiting';
    if (interfaces.length > 0) await this.startInstance();
  }

  async collect(sink: MetricSink): Promise<void> {
    if (this.state === 'running') await this.instance!.collect(sink);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (wasRunning) await this.release();
    else this.host.releaseAll();
  }

  private newHost(): TrackingHost {
    return new TrackingHost(this.id, path.join(this.plugin.directory, this.plugin.object), this.log, this.emit, this.xdpClaims, this.facts, this.onFinished, this.selected ?? []);
  }

  private async startInstance(): Promise<void> {
    this.host = this.newHost();
    try {
      this.instance = this.plugin.create({ id: this.id, config: this.config, host: this.host, log: this.log });
      await this.instance.start();
      this.state = 'running';
    } catch (err) {
      this.host.releaseAll();
      this.instance = undefined;
      if (this.state === 'new') this.state = 'stopped';
      throw wrapError(`starting probe ${this.id}`, err, 'NETPROBE_ERR_PLUGIN');
    }
  }

  private async release(): Promise<void> {
    try {
      await this.instance?.stop?.();
    } catch (err) {
      this.log.error('probe stop failed', { probe: this.id, error: err });
    } finally {
      this.instance = undefined;
      this.host.releaseAll();
    }
  }
}
