// The `vigil sim` command as a user runs it: kubeconfig written once the API serves, nothing on stdout,
// a malformed scenario refused with file:line: reason.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kubectlBinary } from '../../support/k8s-binaries.ts';
import { waitFor } from './support.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGTERM');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runSim(args: string[]): {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['cli/main.ts', 'sim', ...args], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out.stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

describe('vigil sim', () => {
  it('writes the kubeconfig once the API serves, logs node roots to stderr only, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sim-cli-'));
    dirs.push(dir);
    const kubeconfig = join(dir, 'kc');
    const { child, out, exited } = runSim([
      '--scenario',
      'ssh-bruteforce',
      '--kubeconfig',
      kubeconfig,
      '--root',
      join(dir, 'root'),
      '--speed',
      '2',
    ]);
    await waitFor('kubeconfig', () => existsSync(kubeconfig), 60_000);
    expect(readFileSync(kubeconfig, 'utf8')).toMatch(/server: http:\/\/127\.0\.0\.1:\d+/);
    const { execFileSync } = await import('node:child_process');
    const nodes = execFileSync(kubectlBinary(), [
      '--kubeconfig',
      kubeconfig,
      'get',
      'nodes',
      '-o',
      'name',
    ]).toString();
    expect(nodes.trim().split('\n')).toEqual(['node/cp-1', 'node/node-1', 'node/node-2', 'node/node-3']);
    const started = await waitFor('start log', () =>
      out.stderr.split('\n').find((l) => l.includes('"sim started"')),
    );
    expect(JSON.parse(started).nodes['node-1']).toBe(join(dir, 'root', 'node-1'));
    expect(existsSync(join(dir, 'root', 'node-1', 'proc', 'meminfo'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.stdout).toBe('');
  });

  it('refuses a malformed scenario with file, line and reason and exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sim-cli-'));
    dirs.push(dir);
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      'name: broken\nnodes:\n  - name: n1\n    cpus: many\ngroundTruth:\n  rootCause: { kind: Node, object: Node/n1 }\n  startsAt: 0\n',
    );
    const { out, exited } = runSim(['--scenario', file, '--kubeconfig', join(dir, 'kc')]);
    expect(await exited).toBe(2);
    expect(out.stderr).toContain(`invalid scenario: ${file}:4:11: nodes[0].cpus:`);
    expect(existsSync(join(dir, 'kc'))).toBe(false);
  });
});
