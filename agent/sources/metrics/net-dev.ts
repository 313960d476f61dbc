// /proc/net/dev: cumulative byte, packet, error and drop counters per interface.

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDrops: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDrops: number;
}

export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    // The two header lines contain '|' and no colon.
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16 || f.some((x) => !Number.isFinite(x))) continue;
    out.push({
      name,
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      rxErrors: f[2]!,
      rxDrops: f[3]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      txErrors: f[10]!,
      txDrops: f[11]!,
    });
  }
  return out;
}

/**
 * Per-pod virtual interfaces (veth pairs, Calico, Cilium) would add several series per pod on every node;
 * they are left out, as are loopback and ifb (traffic-shaping mirrors of other interfaces). Physical NICs, bridges (cni0, docker0) and tunnels (flannel.1,
 * vxlan) stay.
 */
const PER_POD_INTERFACE = /^(lo|ifb\d+|veth.*|cali.*|lxc.*|tap.*|gke.*|eni.*|azv.*)$/;

export function isNodeInterface(name: string): boolean {
  return !PER_POD_INTERFACE.test(name);
}
