import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  parseCgroup,
  parseNetTcp,
  parseRootUpperDir,
  parseStat,
} from '../../../agent/detect/security/proc-parse.ts';
import { scanProc } from '../../../agent/detect/security/proc-scan.ts';
import { startProcScanner } from '../../../agent/detect/security/proc-scanner.ts';
import { loadRuleSet } from '../../../agent/detect/security/rule-loader.ts';
import { type FakeProcess, FULL_CAPS, writeFakeProc } from '../../fixtures/security/proc/fake-proc.ts';

const ruleSet = loadRuleSet();
const CID = 'a'.repeat(64);
const CID2 = 'b'.repeat(64);
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vigil-proc-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function firedRules(processes: FakeProcess[], options: Parameters<typeof scanProc>[2] = {}) {
  writeFakeProc(root, processes);
  const result = scanProc(root, undefined, { ruleSet, ...options });
  return { result, rules: result.signals.map((s) => s.evidence?.attributes?.['rule']).sort() };
}

const host = (over: Partial<FakeProcess> = {}): FakeProcess => ({
  pid: 1,
  comm: 'systemd',
  exe: '/usr/lib/systemd/systemd',
  capEff: FULL_CAPS,
  ...over,
});
const inPod = (over: Partial<FakeProcess>): FakeProcess => ({
  pid: 100,
  comm: 'nginx',
  exe: '/usr/sbin/nginx',
  containerId: CID,
  netns: 'pod-a',
  ...over,
});

describe('/proc parsers', () => {
  it('finds the container and pod of a cgroup path (systemd and cgroupfs drivers, cri-o, docker)', () => {
    expect(
      parseCgroup(
        `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c3d4e_0000_4000_8000_123456789abc.slice/cri-containerd-${CID}.scope\n`,
      ),
    ).toEqual({ id: CID, podUid: '1b2c3d4e-0000-4000-8000-123456789abc', runtime: 'containerd' });
    expect(
      parseCgroup(`12:memory:/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-123456789abc/${CID}\n`),
    ).toMatchObject({
      id: CID,
      podUid: '1b2c3d4e-0000-4000-8000-123456789abc',
    });
    expect(parseCgroup(`0::/system.slice/crio-${CID}.scope`)).toMatchObject({ runtime: 'cri-o' });
    expect(parseCgroup(`0::/system.slice/docker-${CID}.scope`)).toMatchObject({ runtime: 'docker' });
    expect(parseCgroup('0::/user.slice/user-1000.slice/session-3.scope')).toBeUndefined();
  });

  it('reads IPv4 and IPv4-mapped IPv6 sockets from net/tcp', () => {
    const v4 = parseNetTcp(
      '  sl  local_address rem_address   st\n   0: 0A00020F:A1B2 0100600A:01BB 01 00000000:00000000 00:00000000 00000000 0 0 4242 1\n',
    );
    expect(v4[0]).toMatchObject({
      localIp: '15.2.0.10',
      remoteIp: '10.96.0.1',
      remotePort: 443,
      state: 'ESTABLISHED',
      inode: '4242',
    });
    const v6 = parseNetTcp(
      '  sl  local_address rem_address st\n   0: 0000000000000000FFFF00000F02000A:A1B2 0000000000000000FFFF00000A0B0C0D:0D05 02 0:0 0:0 0 0 0 77 1\n',
    );
    expect(v6[0]).toMatchObject({ remoteIp: '13.12.11.10', remotePort: 3333, state: 'SYN_SENT' });
  });

  it('reads stat with a comm that contains spaces and parentheses', () => {
    expect(parseStat('42 (my (odd) proc) S 7 42 42 34816 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0')).toEqual({
      ppid: 7,
      ttyNr: 34816,
      startTime: '98765',
    });
  });

  it('finds the overlay upper dir of the root mount', () => {
    expect(
      parseRootUpperDir(
        '9 1 0:1 / / rw - overlay overlay rw,lowerdir=/l,upperdir=/var/lib/c/9/fs,workdir=/w\n',
      ),
    ).toBe('/var/lib/c/9/fs');
  });
});

describe('runtime rules on fake /proc trees', () => {
  it('flags an interactive shell in a container, not on the host nor without a terminal', () => {
    const { rules, result } = firedRules([
      host(),
      inPod({ pid: 200, comm: 'bash', exe: '/usr/bin/bash', ttyNr: 34816, stdin: '/dev/pts/0' }),
      inPod({ pid: 201, comm: 'sh', exe: '/bin/sh', cmdline: ['/bin/sh', '-c', 'nginx -g daemon off;'] }),
      host({ pid: 300, comm: 'bash', exe: '/usr/bin/bash', ttyNr: 34816, stdin: '/dev/pts/1', capEff: '0' }),
    ]);
    expect(rules).toEqual(['terminal-shell-in-container']);
    expect(result.signals[0]).toMatchObject({
      technique: 'T1059.004',
      subject: { kind: 'container', container: CID },
    });
  });

  it('flags a container process holding every capability once per container', () => {
    const { rules } = firedRules([
      host(),
      inPod({ pid: 10, capEff: FULL_CAPS }),
      inPod({ pid: 11, comm: 'worker', capEff: FULL_CAPS }),
      inPod({ pid: 12, containerId: CID2, capEff: '00000000a80425fb' }),
    ]);
    expect(rules).toEqual(['privileged-container-process']);
  });

  it('flags binaries run from /tmp, /dev/shm, a memfd, the writable layer, and deleted binaries', () => {
    const upper = '/var/lib/containerd/snapshots/42/fs';
    mkdirSync(join(root, upper, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(root, upper, 'usr/local/bin/kdevtmpfsi'), 'ELF');
    const { rules } = firedRules([
      host(),
      inPod({ pid: 20, comm: 'x', exe: '/tmp/x' }),
      host({ pid: 21, comm: 'y', exe: '/dev/shm/y', capEff: '0' }),
      inPod({ pid: 22, comm: '3', exe: '/memfd:payload (deleted)' }),
      inPod({ pid: 23, comm: 'kdevtmpfsi', exe: '/usr/local/bin/kdevtmpfsi', upperDir: upper }),
      inPod({ pid: 24, comm: 'nginx', exe: '/usr/sbin/nginx', upperDir: upper }),
      inPod({ pid: 25, comm: 'app', exe: '/app/server (deleted)' }),
      host({ pid: 26, comm: 'build', exe: '/tmp/go-build/b001/exe/main', capEff: '0' }),
      inPod({ pid: 27, comm: 'runc', exe: '/memfd:runc_cloned:/proc/self/exe (deleted)' }),
    ]);
    expect(rules).toEqual([
      'deleted-binary-running',
      'drop-and-execute-new-binary',
      'exec-from-tmp',
      'exec-from-tmp',
      'fileless-memfd-execution',
    ]);
  });

  it('flags miners by name and by Stratum pool port', () => {
    const { rules } = firedRules([
      host(),
      inPod({ pid: 30, comm: 'xmrig', exe: '/opt/xmrig' }),
      inPod({
        pid: 31,
        comm: 'python3',
        exe: '/usr/bin/python3',
        containerId: CID2,
        netns: 'pod-b',
        sockets: [{ inode: 9001, local: ['10.244.1.5', 41000], remote: ['45.9.148.21', 3333] }],
      }),
      inPod({
        pid: 32,
        comm: 'curl',
        exe: '/usr/bin/curl',
        sockets: [{ inode: 9002, local: ['10.244.1.4', 41001], remote: ['93.184.216.34', 443] }],
      }),
      inPod({
        pid: 33,
        comm: 'node',
        exe: '/usr/local/bin/node',
        cmdline: ['node', 'miner.js', 'stratum+tcp://pool.example:4444'],
      }),
    ]);
    expect(rules).toEqual(['crypto-miner-process', 'crypto-miner-process', 'stratum-pool-connection']);
  });

  it('flags a pod contacting the Kubernetes API unless it is allow-listed', () => {
    const apiSocket = (inode: number) => ({
      inode,
      local: ['10.244.1.9', 50000 + inode] as [string, number],
      remote: ['10.96.0.1', 443] as [string, number],
    });
    const pods: Record<string, { namespace: string; pod: string }> = {
      [CID]: { namespace: 'shop', pod: 'web-7d9f' },
      [CID2]: { namespace: 'kube-system', pod: 'coredns-1' },
    };
    const { rules, result } = firedRules(
      [
        host(),
        inPod({
          pid: 40,
          comm: 'curl',
          exe: '/usr/bin/curl',
          environ: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
          sockets: [apiSocket(1)],
        }),
        inPod({
          pid: 41,
          comm: 'coredns',
          exe: '/coredns',
          containerId: CID2,
          netns: 'pod-b',
          environ: { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
          sockets: [apiSocket(2)],
        }),
      ],
      { resolveContainer: (id) => pods[id] },
    );
    expect(rules).toEqual(['unexpected-k8s-api-contact']);
    expect(result.signals[0]?.subject).toMatchObject({ namespace: 'shop', pod: 'web-7d9f' });
    expect(result.signals[0]?.explanation).toMatch(/curl \(pid 40\) in pod shop\/web-7d9f/);
  });

  it('reports a finding once per process across scans, and again for a new process', () => {
    const shell = inPod({ pid: 200, comm: 'bash', exe: '/usr/bin/bash', ttyNr: 34816, startTime: 5000 });
    writeFakeProc(root, [host(), shell]);
    const first = scanProc(root, undefined, { ruleSet });
    const second = scanProc(root, first.state, { ruleSet });
    expect(first.signals).toHaveLength(1);
    expect(second.signals).toHaveLength(0);
    expect(second.stats.newProcesses).toBe(0);
    rmSync(join(root, 'proc'), { recursive: true });
    writeFakeProc(root, [host(), { ...shell, startTime: 6000 }]);
    expect(scanProc(root, second.state, { ruleSet }).signals).toHaveLength(1);
  });

  it('notices an execve into a new binary by a process it already knows', () => {
    const proc = inPod({ pid: 300, comm: 'sh', exe: '/bin/sh', startTime: 7000 });
    writeFakeProc(root, [host(), proc]);
    const first = scanProc(root, undefined, { ruleSet });
    expect(first.signals).toEqual([]);
    rmSync(join(root, 'proc'), { recursive: true });
    writeFakeProc(root, [host(), { ...proc, comm: 'x', exe: '/tmp/x', cmdline: ['/tmp/x'] }]);
    const second = scanProc(root, first.state, { ruleSet });
    expect(second.signals.map((s) => s.evidence?.attributes?.['rule'])).toEqual(['exec-from-tmp']);
    expect(second.processes.find((p) => p.pid === 300)?.cmdline).toBe('/tmp/x');
  });

  it('treats a process that vanished mid-scan as unreadable, not as an error', () => {
    writeFakeProc(root, [host()]);
    mkdirSync(join(root, 'proc/999'));
    const result = scanProc(root, undefined, { ruleSet });
    expect(result.stats).toMatchObject({ processes: 1, unreadable: 1 });
  });
});

describe('interval scanner', () => {
  it('scans on its interval with the current rules and reports each finding once', async () => {
    writeFakeProc(root, [host(), inPod({ pid: 50, comm: 'xmrig', exe: '/opt/xmrig' })]);
    const batches: string[][] = [];
    const scanner = startProcScanner({
      hostRoot: root,
      intervalMs: 10,
      rules: () => ruleSet,
      onSignals: (signals) => batches.push(signals.map((s) => s.evidence?.attributes?.['rule'] ?? '')),
    });
    try {
      const deadline = Date.now() + 5000;
      while (batches.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(batches.length).toBeGreaterThanOrEqual(3);
      expect(batches.flat()).toEqual(['crypto-miner-process']);
    } finally {
      scanner.stop();
    }
  });
});

describe('real /proc', () => {
  it('scans this machine without error', () => {
    const first = scanProc('/', undefined, { ruleSet });
    expect(first.stats.processes).toBeGreaterThan(0);
    expect(first.processes.some((p) => p.pid === process.pid)).toBe(true);
    const second = scanProc('/', first.state, { ruleSet });
    expect(second.stats.processes).toBeGreaterThan(0);
  });
});
