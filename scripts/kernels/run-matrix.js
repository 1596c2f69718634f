#!/usr/bin/env node
// The kernel matrix: boots Debian's own kernels under qemu (software emulation works; KVM is
// used when /dev/kvm exists) on the host's root shared read-only over 9p, runs the
// portability suites in each guest with CI=true, and prints a result per kernel and suite.
//
//   node scripts/kernels/run-matrix.js [--kernels bullseye,bookworm,trixie] [--suites a,b]
//                                      [--parallel N] [--list]
//
// Needs root, qemu-system-x86_64, busybox-static, and a built dist/ (npm run test:kernels
// builds first). Kernels are downloaded once into $NETPROBE_CACHE/kernels (fetch-kernels.sh);
// each run's console and per-suite logs go to $NETPROBE_CACHE/kernel-runs/<kernel>/.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');
const cache = process.env.NETPROBE_CACHE || path.join(repo, '.cache');
const KERNELS = ['bullseye', 'bookworm', 'trixie'];

/**
 * The portability suites, most telling first (a guest that runs out of time still reports the
 * first ones). Each runs its files in ONE node process (--one-process): under TCG, starting
 * node and loading its modules again for every file cost minutes. name, time limit in the
 * guest (s; under TCG on a shared 2-core host, with room), the files (substrings of dist/ paths).
 */
const SUITES = [
  // Every probe: its object loads with BTF and its maps, attaches, reports real traffic between
  // namespaces exactly as it declares it, and stops cleanly (twice, and after a failed start).
  { name: 'probes', limit: 900, files: ['test/conformance'] },
  // The BPF programs run on crafted frames through BPF_PROG_TEST_RUN, and the core's map and
  // ring-buffer calls, on this kernel's verifier.
  { name: 'test-run', limit: 600, files: ['core/bpf/bpf.test', 'core/bpf/ringbuf.test', 'dns/dns-bpf.test', 'packet-capture/packet-capture.test'] },
  // TC (tcx from 6.6, classic before), XDP and sock_ops attach, and nothing stays attached after.
  { name: 'attach', limit: 600, files: ['core/bpf/link.test', 'xdp-counter/xdp-counter.test'] },
  // tp_btf skb:kfree_skb: the reason argument exists from 5.17 (before: reason "unknown"). The
  // crafted-frame sender's AF_PACKET path (what kernels before 5.18 send with) goes with it.
  { name: 'drops', limit: 600, files: ['drops/drops.test', 'bench/sender.test'] },
  // A kernel without BTF: a clear error naming the feature, and doctor warns.
  { name: 'no-btf', limit: 300, files: ['core/bpf/no-btf'] },
  { name: 'flow-dns', limit: 600, files: ['flow-stats/flow-stats.test', 'dns/dns.test'] },
  { name: 'capture', limit: 600, files: ['packet-capture/capture-live.test', 'packet-capture/capture-export.test'] },
  // Pre-existing connections (6.11 iterator, 6.2 cgroup filter) degrade with a log line; the
  // e2e test detaches on SIGTERM and SIGKILL.
  { name: 'conntrack', limit: 900, files: ['conntrack/conntrack.test', 'conntrack/conntrack.e2e.test'] },
];
const suiteCommand = (s) => `node scripts/run-tests.js --one-process ${s.files.join(' ')}`;

function parseArgs(argv) {
  const opts = { kernels: KERNELS, suites: SUITES.map((s) => s.name), parallel: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--kernels') opts.kernels = value().split(',').filter(Boolean);
    else if (arg === '--suites') opts.suites = value().split(',').filter(Boolean);
    else if (arg === '--parallel') opts.parallel = Number(value());
    else if (arg === '--list') opts.list = true;
    else usage(`unknown option ${arg}`);
  }
  for (const k of opts.kernels) if (!KERNELS.includes(k)) usage(`unknown kernel ${k} (known: ${KERNELS.join(', ')})`);
  for (const s of opts.suites) if (!SUITES.some((x) => x.name === s)) usage(`unknown suite ${s} (known: ${SUITES.map((x) => x.name).join(', ')})`);
  if (!Number.isInteger(opts.parallel) || opts.parallel < 1 || opts.parallel > 4) usage('--parallel takes 1..4');
  return opts;
}

function usage(message) {
  console.error(`test:kernels: ${message}\nusage: run-matrix.js [--kernels ${KERNELS.join(',')}] [--suites name,...] [--parallel 1..4] [--list]`);
  process.exit(2);
}

function need(condition, message) {
  if (!condition) {
    console.error(`test:kernels: ${message}`);
    process.exit(1);
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, NETPROBE_CACHE: cache } });
  need(r.status === 0, `${cmd} ${args.join(' ')} failed`);
}

/**
 * A snapshot of the repo (built dist/ included) for the guests, so that editing or rebuilding
 * the working tree during a run changes nothing under the tests; node_modules is linked.
 */
function snapshotRepo() {
  const stage = path.join(cache, 'kernel-runs', `repo-${process.pid}`);
  fs.rmSync(stage, { recursive: true, force: true });
  process.on('exit', () => fs.rmSync(stage, { recursive: true, force: true }));
  const skip = new Set(['node_modules', '.git', '.cache'].map((d) => path.join(repo, d)));
  fs.cpSync(repo, stage, { recursive: true, filter: (src) => !skip.has(src) });
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(stage, 'node_modules'));
  return stage;
}

/**
 * One matrix run at a time per cache: each run empties kernel-runs/<kernel>/, which a guest of
 * another run writes its results into (two runs on a shared machine once lost a guest's
 * results that way). A lock left by a run that died is taken over.
 */
function lockRuns() {
  const dir = path.join(cache, 'kernel-runs');
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'matrix.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      process.on('exit', () => fs.rmSync(lock, { force: true }));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = true;
      } catch {
        // no such process: a stale lock
      }
      need(!alive, `another kernel matrix run (pid ${holder}) is using ${dir}: wait for it, or give this one its own NETPROBE_CACHE`);
      fs.rmSync(lock, { force: true });
    }
  }
  need(false, `could not lock ${lock}`);
}

/** Boots one kernel, runs the suites, and resolves with its parsed result lines. */
function runKernel(kernel, suites, opts) {
  const kdir = path.join(cache, 'kernels', kernel);
  const out = path.join(cache, 'kernel-runs', kernel);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'plan'), suites.map((s) => `${s.name} ${s.limit} ${suiteCommand(s)}\n`).join(''));
  const kvm = fs.existsSync('/dev/kvm');
  // Under software emulation everything runs 10-30x slower (more on a busy host): tests stretch their waits.
  const slowdown = Number(process.env.NETPROBE_KERNELS_SLOWDOWN) || (kvm ? 1 : 10);
  // no_timer_check: on a loaded host a TCG guest once hung for 20 min in the IO-APIC timer check.
  const append = [`console=ttyS0`, `panic=-1`, `quiet`, `no_timer_check`, `np.repo=${opts.stage}`, `np.slowdown=${slowdown}`];
  const args = [
    'qemu-system-x86_64', '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot',
    // TCG: one host thread per vCPU (thread=multi, qemu's default for x86 on x86, made explicit)
    // and a CPU without AVX: qemu 7.2 emulates AVX/AVX2 slowly, and glibc and V8 pick them
    // when offered. Measured in a 6.1 guest, same host, back to back: loading the probe
    // harness's 224 modules 3.0-3.7 s with Nehalem against 4.1-6.6 s with max, boot to
    // power-off 29 s against 39 s.
    ...(kvm ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'Nehalem']),
    '-m', '2048', '-smp', '2',
    '-kernel', path.join(kdir, 'vmlinuz'), '-initrd', path.join(kdir, 'initramfs.cpio.gz'), '-append', append.join(' '),
    '-virtfs', 'local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${out},mount_tag=out,security_model=none`,
  ];
  // Boot and shutdown take about a minute under TCG; each suite has its own limit in the guest.
  const limitMs = (240 + suites.reduce((sum, s) => sum + s.limit + 15, 0)) * 1000;
  const started = Date.now();
  return new Promise((resolve) => {
    // Niced (NETPROBE_KERNELS_NICE, default 10): a guest keeps both cores busy for many minutes
    // and must not starve the people sharing the machine; the tests' waits are stretched for that.
    const niceness = process.env.NETPROBE_KERNELS_NICE ?? '10';
    const qemu = spawn('nice', ['-n', niceness, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const consoleLog = fs.createWriteStream(path.join(out, 'console.log'));
    const results = [];
    let buffered = '';
    const onData = (chunk) => {
      consoleLog.write(chunk);
      buffered += chunk.toString('utf8');
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        const m = /NETPROBE-(RESULT|GUEST-FATAL) (.*)$/.exec(line);
        if (!m) continue;
        if (m[1] === 'GUEST-FATAL') results.push({ suite: 'boot', status: 'fail', reason: m[2] });
        else results.push(Object.fromEntries(m[2].split(' ').map((kv) => kv.split('='))));
        console.log(`[${kernel}] ${m[2]}`);
      }
    };
    qemu.stdout.on('data', onData);
    qemu.stderr.on('data', onData);
    const timer = setTimeout(() => {
      console.log(`[${kernel}] timed out after ${limitMs / 1000} s: stopping qemu`);
      results.push({ suite: 'qemu', status: 'timeout' });
      qemu.kill('SIGKILL');
    }, limitMs);
    qemu.on('close', (code) => {
      clearTimeout(timer);
      consoleLog.end();
      const seconds = Math.round((Date.now() - started) / 1000);
      resolve({ kernel, seconds, code, results, out });
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const suites = SUITES.filter((s) => opts.suites.includes(s.name));
  if (opts.list) {
    for (const s of SUITES) console.log(`${s.name.padEnd(12)} ${suiteCommand(s)}`);
    return;
  }
  need(process.getuid?.() === 0, 'run as root (the guests load BPF programs as root on a root-owned share)');
  need(spawnSync('qemu-system-x86_64', ['--version']).status === 0, 'qemu-system-x86_64 is missing (apt-get install qemu-system-x86)');
  need(fs.existsSync(path.join(repo, 'dist', 'cli', 'netprobe.js')), 'dist/ is not built: npm run build');
  run('bash', [path.join(__dirname, 'fetch-kernels.sh'), ...opts.kernels]);
  lockRuns();
  for (const k of opts.kernels) run('bash', [path.join(__dirname, 'make-initramfs.sh'), k]);
  opts.stage = snapshotRepo();

  const pending = [...opts.kernels];
  const done = [];
  const worker = async () => {
    while (pending.length) done.push(await runKernel(pending.shift(), suites, opts));
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel, pending.length) }, worker));

  let failed = false;
  const date = new Date().toISOString().slice(0, 10);
  console.log(`\nkernel matrix, ${date}:`);
  console.log(`| Kernel | ${suites.map((s) => s.name).join(' | ')} | Time |`);
  console.log(`|---|${suites.map(() => '---').join('|')}|---|`);
  for (const k of opts.kernels) {
    const r = done.find((d) => d.kernel === k);
    const boot = r.results.find((x) => x.suite === 'boot');
    const cells = suites.map((s) => {
      const x = r.results.find((y) => y.suite === s.name);
      if (!x || x.status !== 'pass') failed = true;
      return x ? `${x.status} (${x.seconds} s)` : 'not run';
    });
    if (!boot || boot.status !== 'pass') failed = true;
    const name = boot?.kernel ? `${boot.kernel} (${k}, BTF ${boot.btf}, Node ${boot.node})` : `${k}: ${boot?.reason ?? 'did not boot'}`;
    console.log(`| ${name} | ${cells.join(' | ')} | ${r.seconds} s |`);
  }
  console.log(`\nlogs: ${path.join(cache, 'kernel-runs')}/<kernel>/{console.log,<suite>.log}`);
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
module.exports = { SUITES, suiteCommand };
