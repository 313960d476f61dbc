import { describe, expect, it } from 'vitest';
import { keyedValue, parseIoStat } from '../../../agent/sources/metrics/cgroup-files.ts';
import { classifyCgroupDir } from '../../../agent/sources/metrics/cgroup-names.ts';
import { parseContainerLogLink, parsePodLogDir } from '../../../agent/sources/metrics/pod-directory.ts';
import { parseLimit } from '../../../agent/sources/metrics/small-file.ts';

const ID = 'ab'.repeat(32);

describe('cgroup v2 files', () => {
  it('finds one key of a flat keyed file exactly, not a key it is the prefix of', () => {
    const events = 'low 0\nhigh 0\nmax 5\noom 1\noom_kill 3\noom_group_kill 9\n';
    expect(keyedValue(events, 'oom_kill')).toBe(3);
    expect(keyedValue(events, 'oom')).toBe(1);
    expect(keyedValue(events, 'low')).toBe(0);
    expect(keyedValue(events, 'kill')).toBeUndefined();
    expect(keyedValue('usage_usec 42', 'usage_usec')).toBe(42);
    expect(keyedValue('nr_periods x\n', 'nr_periods')).toBeUndefined();
  });

  it('sums read and write bytes of io.stat over devices', () => {
    const io = parseIoStat(
      '8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=5 wbytes=7 rios=1 wios=1\n',
    );
    expect(io).toEqual({ readBytes: 105, writeBytes: 207 });
    expect(parseIoStat('')).toEqual({ readBytes: 0, writeBytes: 0 });
  });

  it('reads limits with max meaning no limit', () => {
    expect(parseLimit('max\n')).toBe(Number.POSITIVE_INFINITY);
    expect(parseLimit('268435456\n')).toBe(268435456);
    expect(parseLimit('')).toBeUndefined();
    expect(parseLimit('nonsense')).toBeUndefined();
  });
});

describe('kubepods directory names', () => {
  it('finds the pod uid of both cgroup drivers and every QoS class', () => {
    const uid = '11111111-2222-3333-4444-555555555555';
    const under = uid.replace(/-/g, '_');
    for (const name of [
      `kubepods-burstable-pod${under}.slice`,
      `kubepods-besteffort-pod${under}.slice`,
      `kubepods-pod${under}.slice`,
      `pod${uid}`,
    ])
      expect(classifyCgroupDir(name)).toEqual({ kind: 'pod', uid });
  });

  it('finds the container id of containerd, CRI-O, Docker and cgroupfs scopes', () => {
    for (const name of [`cri-containerd-${ID}.scope`, `crio-${ID}.scope`, `docker-${ID}.scope`, ID])
      expect(classifyCgroupDir(name)).toEqual({ kind: 'container', id: ID });
  });

  it('recognises QoS levels and ignores everything else', () => {
    expect(classifyCgroupDir('kubepods-burstable.slice').kind).toBe('qos');
    expect(classifyCgroupDir('besteffort').kind).toBe('qos');
    expect(classifyCgroupDir(`crio-conmon-${ID}.scope`).kind).toBe('other');
    expect(classifyCgroupDir('system.slice').kind).toBe('other');
    expect(classifyCgroupDir('memory.current').kind).toBe('other');
  });
});

describe('kubelet log directory names', () => {
  it('maps a pod log directory to namespace, pod and uid', () => {
    expect(parsePodLogDir('shop_api-7d4f9-x2x9q_11111111-2222-3333-4444-555555555555')).toEqual({
      namespace: 'shop',
      pod: 'api-7d4f9-x2x9q',
      uid: '11111111-2222-3333-4444-555555555555',
    });
    expect(parsePodLogDir('not-a-pod-dir')).toBeUndefined();
  });

  it('maps a container log link to the container name, which may contain dashes', () => {
    expect(parseContainerLogLink(`api-7d4f9-x2x9q_shop_istio-proxy-${ID}.log`)).toEqual({
      container: 'istio-proxy',
      id: ID,
    });
    expect(parseContainerLogLink('api_shop_x-123.log')).toBeUndefined();
  });
});
