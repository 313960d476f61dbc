// The cross-node password-spraying case end to end on the simulated cluster: sshd on several nodes logs
// failures from one source, each node's agent runs the auth rules on its own auth.log, and the aggregator
// folds the nodes' signals into one incident whose root cause is the attacking source. Also checks the
// `scenario run` report contract.
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../cli/scenario/run-scenario.ts';

describe('scenario run: ssh-bruteforce', () => {
  it('makes one incident across nodes with the attacking source as the top root cause', async () => {
    const report = await runScenario({
      scenario: 'ssh-bruteforce',
      speed: 3,
      approveAll: false,
      logLevel: 'silent',
    });
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining([
        'scenario',
        'signals',
        'incidents',
        'rootCause',
        'detectSeconds',
        'remediateSeconds',
        'resolveSeconds',
      ]),
    );
    expect(report.rootCause.expected.kind).toBe('ssh_bruteforce');
    expect(report.signals).toBeGreaterThan(report.incidents);
    expect(report.incidents).toBe(1);
    expect(report.rootCause.ranked[0]).toMatchObject(report.rootCause.expected);
    expect(report.detectSeconds).not.toBeNull();
    expect(report.detectSeconds!).toBeLessThan(30);
  });
});
