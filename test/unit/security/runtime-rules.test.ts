import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scanProc } from '../../../agent/detect/security/proc-scan.ts';
import { loadRuleSet } from '../../../agent/detect/security/rule-loader.ts';
import { type FakeProcess, FULL_CAPS, writeFakeProc } from '../../fixtures/security/proc/fake-proc.ts';

const ruleSet = loadRuleSet();
const CID = 'd'.repeat(64);
const UPPER = '/var/lib/containerd/snapshots/7/fs';
const pod = (over: Partial<FakeProcess>): FakeProcess => ({
  pid: 100,
  comm: 'app',
  exe: '/usr/bin/app',
  containerId: CID,
  netns: 'pod',
  ...over,
});
const hostProc = (over: Partial<FakeProcess>): FakeProcess => ({
  pid: 100,
  comm: 'app',
  exe: '/usr/bin/app',
  ...over,
});
const socket = (ip: string, port: number) => ({
  inode: 4242,
  local: ['10.244.0.5', 40000] as [string, number],
  remote: [ip, port] as [string, number],
});

/** For every shipped runtime rule: a process that must fire it and a near miss that must not. */
const table: Record<string, { positive: FakeProcess; negative: FakeProcess }> = {
  'terminal-shell-in-container': {
    positive: pod({ comm: 'bash', exe: '/bin/bash', ttyNr: 34816, stdin: '/dev/pts/0' }),
    negative: pod({ comm: 'bash', exe: '/bin/bash' }),
  },
  'privileged-container-process': {
    positive: pod({ capEff: FULL_CAPS }),
    negative: hostProc({ capEff: FULL_CAPS }),
  },
  'exec-from-tmp': {
    positive: pod({ exe: '/var/tmp/.x/run' }),
    negative: hostProc({ exe: '/tmp/go-build123/b001/exe/main' }),
  },
  'fileless-memfd-execution': {
    positive: pod({ exe: '/memfd:x (deleted)' }),
    negative: pod({ exe: '/memfd:runc_cloned:/proc/self/exe (deleted)' }),
  },
  'drop-and-execute-new-binary': {
    positive: pod({ exe: '/usr/local/bin/dropped', upperDir: UPPER }),
    negative: pod({ exe: '/usr/bin/app', upperDir: UPPER }),
  },
  'deleted-binary-running': {
    positive: pod({ exe: '/usr/bin/app (deleted)' }),
    negative: hostProc({ exe: '/usr/sbin/sshd (deleted)' }),
  },
  'crypto-miner-process': {
    positive: pod({
      comm: 'python3',
      exe: '/usr/bin/python3',
      cmdline: ['python3', 'm.py', '-o', 'stratum+ssl://pool:443'],
    }),
    negative: pod({
      comm: 'python3',
      exe: '/usr/bin/python3',
      cmdline: ['python3', 'server.py', '--port', '3333'],
    }),
  },
  'stratum-pool-connection': {
    positive: pod({ sockets: [socket('203.0.113.50', 14444)] }),
    negative: pod({ sockets: [socket('203.0.113.50', 5432)] }),
  },
  'unexpected-k8s-api-contact': {
    positive: pod({
      sockets: [socket('10.96.0.1', 443)],
      environ: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    }),
    negative: pod({
      sockets: [socket('10.96.0.10', 443)],
      environ: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    }),
  },
};

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vigil-rt-'));
  mkdirSync(join(root, UPPER, 'usr/local/bin'), { recursive: true });
  writeFileSync(join(root, UPPER, 'usr/local/bin/dropped'), 'ELF');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function fired(p: FakeProcess): string[] {
  writeFakeProc(root, [p]);
  return scanProc(root, undefined, { ruleSet }).signals.map((s) => s.evidence?.attributes?.['rule'] ?? '');
}

describe('runtime rules, positive and negative', () => {
  it('covers every shipped runtime rule', () => {
    const ids = ruleSet.rules.filter((r) => r.source === 'runtime').map((r) => r.id);
    expect(Object.keys(table).sort()).toEqual(ids.sort());
  });

  it.each(Object.keys(table))('%s fires on its positive process and not on its near miss', (id) => {
    expect(fired(table[id]!.positive)).toContain(id);
    rmSync(join(root, 'proc'), { recursive: true, force: true });
    expect(fired(table[id]!.negative)).not.toContain(id);
  });
});
