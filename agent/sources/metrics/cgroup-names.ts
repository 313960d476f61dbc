// What a directory in the kubepods cgroup tree stands for. Both kubelet cgroup drivers:
//   systemd:  kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/
//             cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
//             (Guaranteed pods sit directly under kubepods.slice as kubepods-pod<uid>.slice)
//   cgroupfs: kubepods/burstable/pod<uid>/<id>   (Guaranteed: kubepods/pod<uid>/<id>)

export type CgroupDirKind =
  | { kind: 'qos' }
  | { kind: 'pod'; uid: string }
  | { kind: 'container'; id: string }
  | { kind: 'other' };

const SYSTEMD_POD = /^kubepods(?:-(?:burstable|besteffort))?-pod([0-9a-f_]{36})\.slice$/;
const CGROUPFS_POD = /^pod([0-9a-f-]{36})$/;
const SYSTEMD_CONTAINER = /^(?:cri-containerd|crio|docker)-([0-9a-f]{64})\.scope$/;
const BARE_ID = /^[0-9a-f]{64}$/;

export function classifyCgroupDir(name: string): CgroupDirKind {
  const pod = SYSTEMD_POD.exec(name) ?? CGROUPFS_POD.exec(name);
  if (pod) return { kind: 'pod', uid: pod[1]!.replace(/_/g, '-') };
  const c = SYSTEMD_CONTAINER.exec(name);
  if (c) return { kind: 'container', id: c[1]! };
  if (BARE_ID.test(name)) return { kind: 'container', id: name };
  if (
    name === 'kubepods-burstable.slice' ||
    name === 'kubepods-besteffort.slice' ||
    name === 'burstable' ||
    name === 'besteffort'
  )
    return { kind: 'qos' };
  // crio-conmon-<id>.scope (the monitor process), system slices, `.tmp` files of a writer, …
  return { kind: 'other' };
}
