// The agent runs on every node, so what it imports is memory on every node: it talks to the Kubernetes API
// through its own small client (agent/kube-api), never through @kubernetes/client-node (≈ 70 MiB once
// imported), which only the aggregator loads.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function packagesLoadedBy(module: string): string[] {
  const out = execFileSync(process.execPath, ['test/fixtures/runtime/loaded-packages.ts', module], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

describe('what the agent process imports', () => {
  it('loads no @kubernetes/client-node, from its CLI command down', () => {
    const agent = packagesLoadedBy('agent/agent.ts'); // what `vigil agent` imports when it starts
    expect(agent).toContain('lmdb'); // the probe sees the agent's packages
    expect(agent).not.toContain('@kubernetes/client-node');
    expect(packagesLoadedBy('cli/commands/agent.ts')).not.toContain('@kubernetes/client-node');
  });

  it('the aggregator does load it (the probe would see it)', () => {
    expect(packagesLoadedBy('aggregator/aggregator.ts')).toContain('@kubernetes/client-node');
  });
});
