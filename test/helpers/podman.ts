/**
 * podman and buildah as this VM runs them (checked): vfs storage, runc, cgroupfs. The
 * storage lives in the test cache so CI keeps the image's layers between runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { repoRoot } from './paths';

const cache = process.env.NETPROBE_CACHE ?? path.join(repoRoot, '.cache');
export const containersEnv = {
  CONTAINERS_ROOT: path.join(cache, 'containers', 'storage'),
  CONTAINERS_RUNROOT: '/run/netprobe-containers',
};
export const podman = ['podman', '--storage-driver', 'vfs', '--root', containersEnv.CONTAINERS_ROOT, '--runroot', containersEnv.CONTAINERS_RUNROOT, '--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];

/** True when podman, buildah, runc and debootstrap are installed; else skips (a failure under CI). */
export function containerToolsAvailable(t: Pick<TestContext, 'skip'>): boolean {
  const missing = ['podman', 'buildah', 'runc', 'debootstrap'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length === 0) return true;
  const why = `container tools missing: ${missing.join(', ')} (scripts/setup.sh test installs them)`;
  if (process.env.CI) throw new Error(why);
  t.skip(why);
  return false;
}

/** Builds (or, with every step cached, re-tags) the image with deploy/container/build-image.sh. */
export function buildImage(image: string): string {
  fs.mkdirSync(containersEnv.CONTAINERS_ROOT, { recursive: true });
  const r = spawnSync('bash', [path.join(repoRoot, 'deploy', 'container', 'build-image.sh'), '--no-build', image], {
    cwd: repoRoot, encoding: 'utf8', timeout: 30 * 60_000, env: { ...process.env, ...containersEnv, NETPROBE_CACHE: cache },
  });
  if (r.status !== 0) throw new Error(`build-image.sh failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
