// Static facts about the node for the agent's hello (shown by `vigil nodes --json` and the API):
// systeminformation is good at inventory; live samples are read from <host-root> directly instead.
import { cpus, release, totalmem } from 'node:os';
import si from 'systeminformation';

export async function nodeInventory(): Promise<Record<string, string>> {
  const info: Record<string, string> = {
    kernel: release(),
    cpus: String(cpus().length),
    memoryBytes: String(totalmem()),
  };
  try {
    const [os, cpu] = await Promise.all([si.osInfo(), si.cpu()]);
    info['os'] = `${os.distro} ${os.release}`.trim();
    info['arch'] = os.arch;
    info['cpuModel'] = `${cpu.manufacturer} ${cpu.brand}`.trim();
  } catch {
    // Inventory is a nicety: the agent works without it.
  }
  return info;
}
