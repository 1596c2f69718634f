/** Paths to the repository and build output, from compiled tests in dist/. */
import path from 'node:path';

/** The repository root (tests run from dist/<same path>). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const distRoot = path.join(repoRoot, 'dist');
export const cliPath = path.join(distRoot, 'cli', 'netprobe.js');
export const testdata = (...parts: string[]): string => path.join(repoRoot, 'testdata', ...parts);
