import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetricCollector, type MetricCollector } from '../../../agent/sources/metrics/collector.ts';
import { OVERLAYFS_MAGIC } from '../../../agent/sources/metrics/filesystems.ts';
import { diskFilesystems, parseMounts } from '../../../agent/sources/metrics/mounts.ts';
import { K8S_NODE_FIXTURE } from '../../fixtures/proc/fake-node.ts';
import { type Recorded, RecordingSink, recordingLogger } from './recording.ts';

const CGROUP = 'sys/fs/cgroup/kubepods.slice';
const tmpIsOverlay = statfsSync(tmpdir()).type === OVERLAYFS_MAGIC;
const API = `${CGROUP}/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice/cri-containerd-${'a1'.repeat(32)}.scope`;
const POSTGRES = `${CGROUP}/kubepods-podaaaaaaaa_bbbb_cccc_dddd_eeeeeeeeeeee.slice/crio-${'c3'.repeat(32)}.scope`;

const container = (name: string) => (s: Recorded) => s.meta.subject?.container === name;
const mount = (m: string) => (s: Recorded) => s.meta.labels?.['mount'] === m;
const iface = (i: string) => (s: Recorded) => s.meta.labels?.['interface'] === i;

let root: string;
let log: ReturnType<typeof recordingLogger>;
let collector: MetricCollector;
let sink: RecordingSink;

function edit(path: string, change: (text: string) => string): void {
  const p = join(root, path);
  writeFileSync(p, change(readFileSync(p, 'latin1')));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vigil-collect-'));
  cpSync(K8S_NODE_FIXTURE, root, { recursive: true });
  log = recordingLogger();
  // Fixture files are rewritten in place by the tests, so keeping them open is valid and exercised.
  collector = createMetricCollector({
    hostRoot: root,
    node: 'node-7',
    logger: log.logger,
    keepFilesOpen: true,
  });
  sink = new RecordingSink();
});

afterEach(() => {
  collector.close();
  rmSync(root, { recursive: true, force: true });
});

/** Second reading one second later: every counter of the fixture moves by a known amount. */
function advanceCounters(): void {
  edit('proc/stat', (t) =>
    t.replace('cpu  1000 10 500 8000 200 0 50 100 0 0', 'cpu  1060 10 520 8100 210 0 50 110 0 0'),
  );
  edit('proc/pressure/memory', (t) => t.replace('total=2000000', 'total=2500000'));
  edit('proc/net/dev', (t) =>
    t.replace('eth0: 1000000   10000    3    7', 'eth0: 1250000   10000    5    7'),
  );
  edit(`${API}/cpu.stat`, (t) =>
    t
      .replace('usage_usec 5000000', 'usage_usec 5500000')
      .replace('nr_periods 1000', 'nr_periods 1100')
      .replace('nr_throttled 250', 'nr_throttled 275'),
  );
  edit(`${API}/io.stat`, (t) => t.replace('rbytes=40960', 'rbytes=45056'));
}

describe('metric collection on a constructed cgroup v2 node', () => {
  it('reads memory, swap, load, pids, file handles and conntrack with their capacities', () => {
    collector.sample(sink, 0);
    expect(sink.one('node.memory.used_bytes')).toMatchObject({
      value: (16_384_000 - 6_144_000) * 1024,
      meta: { capacity: 16_384_000 * 1024 },
    });
    expect(sink.one('node.memory.available_bytes').value).toBe(6_144_000 * 1024);
    expect(sink.one('node.swap.used_bytes')).toMatchObject({ value: 2 ** 30, meta: { capacity: 2 ** 31 } });
    expect(sink.one('node.load.1m').value).toBe(1.5);
    expect(sink.one('node.load.15m').value).toBe(0.9);
    // Threads are capped by min(pid_max, threads-max).
    expect(sink.one('node.pids.current')).toMatchObject({ value: 1234, meta: { capacity: 127_000 } });
    expect(sink.one('node.procs.blocked').value).toBe(1);
    // file-max is LONG_MAX: no capacity.
    expect(sink.one('node.fd.allocated')).toEqual({ name: 'node.fd.allocated', value: 3200, meta: {} });
    expect(sink.one('node.conntrack.entries')).toMatchObject({ value: 1500, meta: { capacity: 131_072 } });
    expect(sink.one('node.psi.memory.some_avg10').value).toBe(12.34);
    expect(sink.one('node.psi.memory.full_avg10').value).toBe(4.56);
    expect(sink.named('node.psi.cpu.full_avg10')).toHaveLength(0);
  });

  it('turns /proc counters into CPU shares, stall ratios and per-interface rates on the second sample', () => {
    collector.sample(sink, 0);
    expect(sink.named('node.cpu.utilization')).toHaveLength(0);
    expect(sink.named('node.net.rx_bytes_per_s')).toHaveLength(0);
    advanceCounters();
    sink.clear();
    collector.sample(sink, 1000);
    // 200 jiffies: 60 user + 20 system + 10 steal busy, 100 idle, 10 iowait.
    expect(sink.one('node.cpu.utilization').value).toBeCloseTo(0.45, 10);
    expect(sink.one('node.cpu.iowait_ratio').value).toBeCloseTo(0.05, 10);
    expect(sink.one('node.cpu.steal_ratio').value).toBeCloseTo(0.05, 10);
    expect(sink.one('node.psi.memory.some_stalled_ratio').value).toBeCloseTo(0.5, 10);
    expect(sink.one('node.net.rx_bytes_per_s', iface('eth0')).value).toBe(250_000);
    expect(sink.one('node.net.rx_errors_per_s', iface('eth0')).value).toBe(2);
    expect(sink.one('node.net.tx_bytes_per_s', iface('cni0')).value).toBe(0);
    const interfaces = new Set(
      sink.named('node.net.rx_bytes_per_s').map((s) => s.meta.labels?.['interface']),
    );
    expect(interfaces).toEqual(new Set(['eth0', 'cni0']));
  });

  // In a container whose temp dir is an overlay, the fixture's ext4 mounts are (rightly) refused.
  it.skipIf(tmpIsOverlay)(
    'measures the disk filesystems of the mount table under hostRoot and warns once for one it cannot stat',
    () => {
      for (let t = 0; t < 3000; t += 1000) collector.sample(sink, t);
      const used = sink.named('node.fs.used_bytes').filter(mount('/'));
      expect(used).toHaveLength(3);
      expect(used[0]?.value).toBeGreaterThan(0);
      expect(used[0]?.meta.capacity).toBeGreaterThanOrEqual(used[0]?.value ?? Number.POSITIVE_INFINITY);
      expect(sink.named('node.fs.inodes_used').filter(mount('/data'))).toHaveLength(3);
      const mounts = new Set(sink.named('node.fs.used_bytes').map((s) => s.meta.labels?.['mount']));
      // /var/lib/kubelet is /'s device again; kubelet volumes, overlays and NFS are not watched.
      expect(mounts).toEqual(new Set(['/', '/data']));
      const statfsWarnings = log.warnings().filter((l) => l.msg.startsWith('statfs failed'));
      expect(statfsWarnings.map((l) => l['mount']).sort()).toEqual(['/mnt/missing', '/var/lib/containerd']);
    },
  );

  it('names containers by namespace, pod and container from the kubelet log directories', () => {
    collector.sample(sink, 0);
    const subjects = sink.named('container.memory.current_bytes').map((s) => s.meta.subject);
    // Three workloads; the api pod's sandbox (no log link, one process, 440 KiB) is skipped.
    expect(subjects).toHaveLength(3);
    expect(subjects).toContainEqual({
      kind: 'container',
      node: 'node-7',
      namespace: 'shop',
      pod: 'api-7d4f9-x2x9q',
      container: 'api',
    });
    expect(subjects).toContainEqual({
      kind: 'container',
      node: 'node-7',
      namespace: 'db',
      pod: 'postgres-0',
      container: 'postgres',
    });
    expect(sink.samples.some((r) => r.meta.subject?.container === 'b2b2b2b2b2b2')).toBe(false);
    // A pod without a log directory keeps its uid.
    expect(subjects).toContainEqual({
      kind: 'container',
      node: 'node-7',
      pod: '99999999-8888-7777-6666-555555555555',
      container: 'd4d4d4d4d4d4',
    });
  });

  it('reports memory and pids against their limits, none for "max", and OOM kill counters', () => {
    collector.sample(sink, 0);
    expect(sink.one('container.memory.current_bytes', container('api')).meta.capacity).toBe(268_435_456);
    expect(
      sink.one('container.memory.current_bytes', container('d4d4d4d4d4d4')).meta.capacity,
    ).toBeUndefined();
    // Working set = memory.current − inactive_file (30 % of the fixture's usage).
    expect(sink.one('container.memory.working_set_bytes', container('api'))).toMatchObject({
      value: 104_857_600 - 31_457_280,
      meta: { capacity: 268_435_456 },
    });
    expect(sink.one('container.pids.current', container('api'))).toMatchObject({
      value: 12,
      meta: { capacity: 100 },
    });
    expect(sink.one('container.memory.oom_kills', container('postgres')).value).toBe(1);
    const podOoms = sink.one('pod.memory.oom_kills', (s) => s.meta.subject?.pod === 'postgres-0');
    expect(podOoms.value).toBe(2);
    expect(podOoms.meta.subject?.kind).toBe('pod');
  });

  it('turns cgroup counters into cores, throttled ratio and I/O rates on the second sample', () => {
    collector.sample(sink, 0);
    expect(sink.named('container.cpu.cores')).toHaveLength(0);
    advanceCounters();
    sink.clear();
    collector.sample(sink, 1000);
    expect(sink.one('container.cpu.cores', container('api')).value).toBeCloseTo(0.5, 10);
    expect(sink.one('container.cpu.throttled_ratio', container('api')).value).toBeCloseTo(0.25, 10);
    expect(sink.one('container.cpu.throttled_ratio', container('postgres')).value).toBe(0);
    expect(sink.one('container.io.read_bytes_per_s', container('api')).value).toBe(4096);
    expect(sink.one('container.io.write_bytes_per_s', container('api')).value).toBe(0);
  });

  it('skips the delta of a counter that went back (a reset) and resumes from the new value', () => {
    collector.sample(sink, 0);
    edit(`${API}/cpu.stat`, (t) => t.replace('usage_usec 5000000', 'usage_usec 1000'));
    edit('proc/net/dev', (t) => t.replace('eth0: 1000000', 'eth0: 10'));
    sink.clear();
    collector.sample(sink, 1000);
    expect(sink.named('container.cpu.cores').filter(container('api'))).toHaveLength(0);
    expect(sink.named('node.net.rx_bytes_per_s').filter(iface('eth0'))).toHaveLength(0);
    edit(`${API}/cpu.stat`, (t) => t.replace('usage_usec 1000', 'usage_usec 201000'));
    sink.clear();
    collector.sample(sink, 2000);
    expect(sink.one('container.cpu.cores', container('api')).value).toBeCloseTo(0.2, 10);
  });

  it('drops a container whose cgroup disappears between samples, without a warning', () => {
    // Files opened per read, as on a simulated node: a descriptor kept open on a regular file would still
    // read the deleted file (on cgroupfs the read fails with ENODEV instead).
    const c = createMetricCollector({
      hostRoot: root,
      node: 'node-7',
      logger: log.logger,
      keepFilesOpen: false,
    });
    c.sample(sink, 0);
    rmSync(join(root, API), { recursive: true });
    sink.clear();
    c.sample(sink, 1000);
    expect(sink.named('container.memory.current_bytes').filter(container('api'))).toHaveLength(0);
    expect(sink.named('container.memory.current_bytes')).toHaveLength(2);
    expect(log.warnings()).toEqual(log.warnings().filter((l) => l.msg.startsWith('statfs failed')));
  });

  it('switches a missing source off with one warning each, never throwing, and keeps the others', () => {
    rmSync(join(root, 'proc/pressure'), { recursive: true });
    rmSync(join(root, 'proc/sys/net/netfilter'), { recursive: true });
    for (const scope of [API, POSTGRES]) rmSync(join(root, scope, 'io.stat'));
    rmSync(
      join(
        root,
        `${CGROUP}/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice/cri-containerd-${'b2'.repeat(32)}.scope/io.stat`,
      ),
    );
    rmSync(
      join(
        root,
        `${CGROUP}/kubepods-besteffort.slice/kubepods-besteffort-pod99999999_8888_7777_6666_555555555555.slice/docker-${'d4'.repeat(32)}.scope/io.stat`,
      ),
    );
    for (let t = 0; t < 10_000; t += 1000) collector.sample(sink, t);
    const off = log.warnings().filter((l) => !l.msg.startsWith('statfs failed'));
    expect(off.map((l) => l.source).sort()).toEqual([
      'cgroup.io.stat',
      'conntrack',
      'proc.pressure.cpu',
      'proc.pressure.io',
      'proc.pressure.memory',
    ]);
    expect(collector.offSources()).toEqual(expect.arrayContaining(['conntrack', 'cgroup.io.stat']));
    expect(sink.names().has('container.io.read_bytes_per_s')).toBe(false);
    expect(sink.names().has('node.psi.memory.some_avg10')).toBe(false);
    expect(sink.named('node.memory.used_bytes')).toHaveLength(10);
    expect(sink.named('container.cpu.cores').length).toBeGreaterThan(0);
  });

  it('tries a switched-off source again later and announces its return', () => {
    const pressure = readFileSync(join(root, 'proc/pressure/memory'), 'latin1');
    rmSync(join(root, 'proc/pressure/memory'));
    const c = createMetricCollector({ hostRoot: root, node: 'n', logger: log.logger, retryMs: 5000 });
    c.sample(sink, 0);
    writeFileSync(join(root, 'proc/pressure/memory'), pressure);
    sink.clear();
    c.sample(sink, 1000);
    expect(sink.names().has('node.psi.memory.some_avg10')).toBe(false);
    c.sample(sink, 5000);
    expect(sink.names().has('node.psi.memory.some_avg10')).toBe(true);
    expect(log.lines.filter((l) => l.source === 'proc.pressure.memory').map((l) => l.msg)).toEqual([
      'metric source unavailable; its metrics are off',
      'metric source available again',
    ]);
    c.close();
  });
});

describe('metric collection on other hosts', () => {
  it('reports cgroup v1 once, collects no container metrics and keeps the node metrics', () => {
    const { logger, warnings } = recordingLogger();
    const c = createMetricCollector({
      hostRoot: join(import.meta.dirname, '../../fixtures/proc/cgroup-v1'),
      node: 'old',
      logger,
    });
    const s = new RecordingSink();
    for (let t = 0; t < 5000; t += 1000) c.sample(s, t);
    const v1 = warnings().filter((l) => l.msg.includes('cgroup v1'));
    expect(v1).toHaveLength(1);
    expect(v1[0]?.msg).toBe(
      'cgroup v1 is not supported; container metrics are off (node metrics keep working)',
    );
    expect(c.cgroupVersion()).toBe('v1');
    expect([...s.names()].some((n) => n.startsWith('container.'))).toBe(false);
    expect(s.named('node.memory.used_bytes')).toHaveLength(5);
    expect(s.named('node.load.1m')).toHaveLength(5);
  });

  it("reads a simulated node's disk from .sim/statfs.json", () => {
    const sim = mkdtempSync(join(tmpdir(), 'vigil-collect-sim-'));
    try {
      mkdirSync(join(sim, '.sim'));
      writeFileSync(
        join(sim, '.sim/statfs.json'),
        JSON.stringify({
          '/': { type: 0xef53, bsize: 4096, blocks: 1000, bfree: 400, bavail: 350, files: 500, ffree: 100 },
        }),
      );
      const { logger } = recordingLogger();
      const c = createMetricCollector({ hostRoot: sim, node: 'sim', logger });
      const s = new RecordingSink();
      c.sample(s, 0);
      expect(s.one('node.fs.used_bytes')).toMatchObject({
        value: 600 * 4096,
        meta: { labels: { mount: '/' }, capacity: 950 * 4096 },
      });
      expect(s.one('node.fs.inodes_used')).toMatchObject({ value: 400, meta: { capacity: 500 } });
    } finally {
      rmSync(sim, { recursive: true, force: true });
    }
  });

  it("samples this machine's real / with plausible values and without throwing", () => {
    const { logger } = recordingLogger();
    const c = createMetricCollector({ hostRoot: '/', node: 'self', logger });
    const s = new RecordingSink();
    const t0 = Date.now();
    c.sample(s, t0);
    c.sample(s, t0 + 1000);
    const mem = s.named('node.memory.used_bytes');
    expect(mem).toHaveLength(2);
    expect(mem[0]?.meta.capacity).toBeGreaterThan(0);
    expect(mem[0]?.value).toBeGreaterThan(0);
    expect(mem[0]?.value).toBeLessThanOrEqual(mem[0]?.meta.capacity ?? 0);
    const util = s.named('node.cpu.utilization');
    for (const u of util) expect(u.value).toBeGreaterThanOrEqual(0);
    for (const u of util) expect(u.value).toBeLessThanOrEqual(1);
    expect(s.named('node.load.1m')[0]?.value).toBeGreaterThanOrEqual(0);
    const rootIsDisk = diskFilesystems(parseMounts(readFileSync('/proc/1/mounts', 'latin1'))).some(
      (m) => m.mountPoint === '/',
    );
    if (rootIsDisk) expect(s.named('node.fs.used_bytes').some(mount('/'))).toBe(true);
    expect(['v1', 'v2', 'none']).toContain(c.cgroupVersion());
    c.close();
  });
});

describe('container discovery', () => {
  it('walks the cgroupfs driver layout (kubepods/<qos>/pod<uid>/<id>)', () => {
    const host = mkdtempSync(join(tmpdir(), 'vigil-collect-cgroupfs-'));
    try {
      const uid = '12345678-1234-1234-1234-123456789abc';
      const id = 'ef'.repeat(32);
      const cg = join(host, 'sys/fs/cgroup');
      mkdirSync(join(cg, 'kubepods/burstable', `pod${uid}`, id), { recursive: true });
      writeFileSync(join(cg, 'cgroup.controllers'), 'cpu io memory pids\n');
      writeFileSync(join(cg, 'kubepods/burstable', `pod${uid}`, id, 'memory.current'), '4096\n');
      mkdirSync(join(host, 'var/log/pods', `web_front-0_${uid}`), { recursive: true });
      mkdirSync(join(host, 'var/log/containers'), { recursive: true });
      writeFileSync(join(host, 'var/log/containers', `front-0_web_nginx-${id}.log`), '');
      const { logger } = recordingLogger();
      const c = createMetricCollector({ hostRoot: host, node: 'n', logger });
      const s = new RecordingSink();
      c.sample(s, 0);
      expect(s.one('container.memory.current_bytes')).toMatchObject({
        value: 4096,
        meta: { subject: { namespace: 'web', pod: 'front-0', container: 'nginx' } },
      });
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('names a container by its id prefix until its log link appears, then by its name', () => {
    const { logger } = recordingLogger();
    const links = join(root, 'var/log/containers');
    const api = `api-7d4f9-x2x9q_shop_api-${'a1'.repeat(32)}.log`;
    rmSync(join(links, api));
    const c = createMetricCollector({ hostRoot: root, node: 'n', logger });
    const names = (t: number) => {
      const s = new RecordingSink();
      c.sample(s, t);
      return s.named('container.memory.current_bytes').map((r) => r.meta.subject?.container);
    };
    expect(names(0)).toContain('a1a1a1a1a1a1');
    writeFileSync(join(links, api), '');
    // The name directory is read again at most every 5 s.
    expect(names(1000)).toContain('a1a1a1a1a1a1');
    expect(names(6000)).toContain('api');
    c.close();
  });
});
