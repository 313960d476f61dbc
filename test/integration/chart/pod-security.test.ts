import { describe, expect, it } from 'vitest';
import { agentName, aggregatorName, find, render } from './helm.ts';
import { restrictedViolations } from './pod-security.ts';

describe('Pod Security Standards', () => {
  const manifests = render({
    set: { 'aggregator.persistence.enabled': true, 'tls.enabled': true },
    setString: { 'tls.agentSecretName': 'a', 'tls.aggregatorSecretName': 'b' },
  });

  it('lets the aggregator run in a namespace enforcing the restricted profile', () => {
    const template = find(manifests, 'Deployment', aggregatorName).spec.template;
    expect(restrictedViolations(template.spec, template.metadata.annotations)).toEqual([]);
  });

  it('departs from restricted for the agent only by hostPID, its host paths, root, two capabilities and AppArmor', () => {
    const template = find(manifests, 'DaemonSet', agentName).spec.template;
    expect(restrictedViolations(template.spec, template.metadata.annotations).sort()).toEqual(
      [
        'hostPID',
        'volume host-cgroup: hostPath',
        'volume host-proc: hostPath',
        'volume host-root: hostPath',
        'volume host-var-log: hostPath',
        'volume state: hostPath',
        'container agent: capability DAC_READ_SEARCH added',
        'container agent: capability SYS_PTRACE added',
        'container agent: runs as root',
        'container agent: AppArmor unconfined',
      ].sort(),
    );
  });
});
