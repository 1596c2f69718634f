/**
 * `netprobe top`: a live view of what the probes see. It runs the same Service and
 * probes as `netprobe run` and watches them in-process (a ServiceObserver); the
 * summary of each collection is drawn full-screen on a terminal, printed as text
 * frames when stdout is not one, or as JSON lines with --json.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/config/load';
import { isDuration, parseDuration } from '../../core/config/duration';
import { createLogger, setLogLevel, setLogWriter } from '../../core/log';
import { Service, type ServiceObserver } from '../../core/service';
import { NetworkSummarizer, type NetworkSummary, type SummaryPoint } from '../../core/summary/network-summary';
import type { ProbePlugin } from '../../core/plugin/types';
import { chooseTopConfig, isXdpTaken, withoutXdpCounter } from './config';
import { readInterfaceDrops } from './drops';
import { buildScreen, INITIAL_STATE, type ViewState } from './view-model';
import { renderScreen } from './render';
import { Terminal } from './terminal';

export const TOP_USAGE = `usage: netprobe top [-i IFACE]... [--config FILE] [--interval 1s] [--kernel-stats] [--once] [--json] [--no-color]
  -i, --interface IFACE   watch IFACE with every probe that can share it (xdp_counter, flow_stats,
                          dns, conntrack), without a config; repeat for more interfaces
  -c, --config FILE       run the probes of FILE (default ./collector.yaml; without it: every probe
                          on every interface that is up); top exports nothing
      --interval D        refresh period (default 1s)
      --kernel-stats      BPF run-time statistics on while top runs, for the kernel panel (every BPF
                          program on the machine then pays ~40 ns per run; see service.telemetry.kernel_stats)
      --once              print one view of one interval and exit
      --json              print the summary as JSON (one line per interval; with --once, one)
      --no-color          no colours (also when stdout is not a terminal, or NO_COLOR is set)
keys: q or Ctrl-C quit, p or space pause, s sort, tab / 1-6 switch panel
`;

interface TopArgs {
  interfaces: string[];
  config?: string;
  interval: string;
  kernelStats: boolean;
  once: boolean;
  json: boolean;
  noColor: boolean;
}

function parseTopArgs(args: string[]): TopArgs {
  const { values } = parseArgs({
    args,
    options: {
      interface: { type: 'string', short: 'i', multiple: true },
      config: { type: 'string', short: 'c' },
      interval: { type: 'string', default: '1s' },
      'kernel-stats': { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'no-color': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const interval = values.interval!;
  if (!isDuration(interval) || parseDuration(interval) < 100) throw new Error(`--interval: expected a duration of at least 100ms (e.g. 1s, 500ms), got ${JSON.stringify(interval)}`);
  return {
    interfaces: (values.interface ?? []).flatMap((i) => i.split(',')).filter(Boolean),
    config: values.config,
    interval,
    kernelStats: values['kernel-stats']!,
    once: values.once!,
    json: values.json!,
    noColor: values['no-color']!,
  };
}

export async function top(argv: string[], plugins: readonly ProbePlugin[]): Promise<number> {
  let args: TopArgs;
  try {
    args = parseTopArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${TOP_USAGE}`);
    return 2;
  }
  let choice;
  try {
    choice = chooseTopConfig(args, plugins);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let { config } = choice;
  const { source } = choice;
  const interactive = Boolean(process.stdout.isTTY && process.stdin.isTTY) && !args.once && !args.json;
  const colour = Boolean(process.stdout.isTTY) && !args.json && !args.noColor && !process.env.NO_COLOR;
  // The view says what runs; the log keeps to problems unless debug was asked for.
  setLogLevel(config.service.telemetry.logs.level === 'debug' ? 'debug' : 'warn');
  const log = createLogger();
  const summarizer = new NetworkSummarizer();
  const describe = () => `${Object.keys(config.probes).join(', ')} (${source})`;
  let running = describe();

  let watched: string[] = [];
  let collection: Array<{ probeId: string; points: readonly SummaryPoint[] }> = [];
  let onSummary: (s: NetworkSummary) => void = () => {};
  const observer: ServiceObserver = {
    collected: (probeId, points) => collection.push({ probeId, points }),
    collectionDone: (at) => {
      const kernelCost = { statsOn: service.kernelStatsOn, programs: service.kernelCost() };
      const summary = summarizer.update(collection, at, { interfaces: watched, drops: readInterfaceDrops(), kernelCost });
      collection = [];
      if (summary) onSummary(summary);
    },
    event: (_probe, name, attributes) => summarizer.event(name, attributes),
  };
  const createService = () => {
    const created = new Service(config, plugins, log);
    created.observe(observer);
    return created;
  };
  let service = createService();

  // Log lines would tear a full-screen view: keep them, show the last problem, print them at exit.
  const logged: string[] = [];
  let problem: { text: string; at: number } | undefined;
  const PROBLEM_SHOWN_MS = 15_000;
  const lastProblem = () => (problem && Date.now() - problem.at < PROBLEM_SHOWN_MS ? problem.text : undefined);
  let terminal: Terminal | undefined;
  if (interactive) {
    setLogWriter((line, level) => {
      logged.push(line);
      if (logged.length > 200) logged.shift();
      if (level === 'warn' || level === 'error') problem = { text: line.replace(/^\S+ /, ''), at: Date.now() };
    });
  }

  let stopping: Promise<number> | undefined;
  const stop = (code: number): Promise<number> => {
    stopping ??= (async () => {
      terminal?.restore();
      setLogWriter();
      for (const line of logged) process.stderr.write(line + '\n');
      await service.shutdown({ finalCollect: false });
      return code;
    })();
    return stopping;
  };

  // Full-screen from the start: attaching takes a few seconds, and the person should see that it does.
  let state: ViewState = INITIAL_STATE;
  let latest: NetworkSummary | undefined;
  let phase = 'attaching the probes...';
  const draw = () => {
    if (!terminal) return;
    const screen = buildScreen(latest, state, { running, message: lastProblem(), waiting: phase });
    terminal.draw(renderScreen(screen, { columns: terminal.columns, rows: terminal.rows, colour, fill: true }));
  };
  let quitRequested = false;
  let quit = () => {
    quitRequested = true; // while the probes attach: stop right after
  };
  if (interactive) {
    terminal = new Terminal(process.stdin, process.stdout);
    terminal.start({
      onKey: (result) => {
        if (result.quit) return quit();
        if (result.changed) {
          state = result.state;
          draw();
        }
      },
      onResize: draw,
      getState: () => state,
    });
    draw();
  }

  // Ctrl-C or SIGTERM while the probes attach: stop as soon as start() is done (it detaches).
  process.once('SIGINT', () => quit());
  process.once('SIGTERM', () => quit());
  try {
    try {
      await service.start();
    } catch (err) {
      const rest = withoutXdpCounter(config);
      if (!isXdpTaken(err) || !rest) throw err;
      // Another collector (e.g. `netprobe run`) holds the interface's XDP hook: flow_stats' TC hooks see both directions anyway.
      log.warn('XDP is taken on an interface; running without xdp_counter', { error: (err as Error).message });
      config = rest;
      running = describe();
      service = createService();
      await service.start();
    }
  } catch (err) {
    await stop(1);
    process.stderr.write(`netprobe top: ${(err as Error).message}\n`);
    return 1;
  }
  if (quitRequested) return stop(0);
  watched = [...new Set(service.attachments.filter((a) => a.targetKind === 'interface').map((a) => a.target))];
  void service.tick(); // the baseline: the first rates come one interval later
  phase = 'collecting: the first rates come after one interval...';
  draw();

  return new Promise<number>((resolve) => {
    const finish = (code: number) => void stop(code).then(resolve);
    quit = () => finish(0);

    if (args.once || !interactive) {
      const size = { columns: Number(process.env.COLUMNS) || process.stdout.columns || 120, rows: Number(process.env.LINES) || 1000 };
      onSummary = (summary) => {
        if (args.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else {
          const screen = buildScreen(summary, INITIAL_STATE, { running });
          process.stdout.write(renderScreen(screen, { ...size, colour }).join('\n') + '\n\n');
        }
        if (args.once) finish(0);
      };
      return;
    }

    onSummary = (summary) => {
      if (state.paused) return;
      latest = summary;
      draw();
    };
  });
}
