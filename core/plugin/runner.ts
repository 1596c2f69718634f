/**
 * One probe instance's lifecycle, owned by core: start, collect, stop. stop() is
 * safe before start() and safe twice; a failed start releases what it opened.
 */
import path from 'node:path';
import { TrackingHost, type Attachment } from './host';
import { createSharedFacts } from '../facts/shared-facts';
import { wrapError } from '../errors';
import type { Logger } from '../log';
import type { Attributes, MetricSink, ProbeInstance, ProbePlugin, SharedFacts } from './types';

export type EmitEvent = (probeId: string, eventName: string, attributes: Attributes, body?: string) => void;
export type ProbeFinished = (probeId: string, reason: string) => void;

export class ProbeRunner {
  private instance: ProbeInstance | undefined;
  private readonly host: TrackingHost;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(
    readonly id: string,
    readonly plugin: ProbePlugin,
    private readonly config: unknown,
    private readonly log: Logger,
    emit: EmitEvent,
    xdpClaims: Map<string, string>,
    /** One set for all the probes of a collector (a runner alone gets its own). */
    facts: SharedFacts = createSharedFacts(),
    onFinished?: ProbeFinished,
  ) {
    this.host = new TrackingHost(id, path.join(plugin.directory, plugin.object), log, emit, xdpClaims, facts, onFinished);
  }

  get running(): boolean {
    return this.state === 'running';
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
    try {
      this.instance = this.plugin.create({ id: this.id, config: this.config, host: this.host, log: this.log });
      await this.instance.start();
      this.state = 'running';
    } catch (err) {
      this.host.releaseAll();
      this.state = 'stopped';
      throw wrapError(`starting probe ${this.id}`, err, 'NETPROBE_ERR_PLUGIN');
    }
  }

  async collect(sink: MetricSink): Promise<void> {
    if (this.state === 'running') await this.instance!.collect(sink);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    try {
      if (wasRunning) await this.instance?.stop?.();
    } catch (err) {
      this.log.error('probe stop failed', { probe: this.id, error: err });
    } finally {
      this.host.releaseAll();
    }
  }
}
