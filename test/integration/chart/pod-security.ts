// The checks of the Kubernetes Pod Security Standards "restricted" profile (which includes "baseline") that a
// pod spec can fail, each violation as a short string. https://kubernetes.io/docs/concepts/security/pod-security-standards/
type SecurityContext = {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  capabilities?: { add?: string[]; drop?: string[] };
};
type Container = { name: string; securityContext?: SecurityContext; ports?: Array<{ hostPort?: number }> };
type PodSpec = {
  hostPID?: boolean;
  hostIPC?: boolean;
  hostNetwork?: boolean;
  securityContext?: SecurityContext;
  volumes?: Array<{ name: string; [type: string]: unknown }>;
  containers: Container[];
  initContainers?: Container[];
};

const allowedVolumeTypes = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

export function restrictedViolations(pod: PodSpec, annotations: Record<string, string> = {}): string[] {
  const out: string[] = [];
  for (const host of ['hostPID', 'hostIPC', 'hostNetwork'] as const) if (pod[host] === true) out.push(host);
  for (const volume of pod.volumes ?? []) {
    for (const type of Object.keys(volume))
      if (type !== 'name' && !allowedVolumeTypes.has(type)) out.push(`volume ${volume.name}: ${type}`);
  }
  const podSc = pod.securityContext ?? {};
  for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const sc = container.securityContext ?? {};
    const where = `container ${container.name}`;
    if (sc.privileged === true) out.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation not false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities not dropped`);
    for (const cap of sc.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') out.push(`${where}: capability ${cap} added`);
    const runAsUser = sc.runAsUser ?? podSc.runAsUser;
    const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (runAsUser === 0 || runAsNonRoot !== true) out.push(`${where}: runs as root`);
    const appArmor = sc.appArmorProfile?.type ?? podSc.appArmorProfile?.type;
    const appArmorAnnotation =
      annotations[`container.apparmor.security.beta.kubernetes.io/${container.name}`];
    if (appArmor === 'Unconfined' || appArmorAnnotation === 'unconfined')
      out.push(`${where}: AppArmor unconfined`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${where}: no seccomp profile`);
    if ((container.ports ?? []).some((port) => port.hostPort !== undefined && port.hostPort !== 0))
      out.push(`${where}: hostPort`);
  }
  return out;
}
