import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSecurityDetectors } from '../../../agent/detect/security/security-detectors.ts';
import type { Signal } from '../../../common/signal.ts';
import { writeFakeProc } from '../../fixtures/security/proc/fake-proc.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-secdet-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('startSecurityDetectors', () => {
  it('runs auth, audit and runtime checks and applies edited user rules to all of them', async () => {
    const hostRoot = join(dir, 'host');
    writeFakeProc(hostRoot, [{ pid: 7, comm: 'xmrig', exe: '/xmrig', containerId: 'c'.repeat(64) }]);
    const userRules = join(dir, 'site.yaml');
    writeFileSync(userRules, 'source: auth\nrules: []\n');
    const runtime: Signal[] = [];
    const detectors = startSecurityDetectors({
      node: 'node-9',
      hostRoot,
      rulePaths: [userRules],
      procIntervalMs: 10,
      onSignals: (s) => runtime.push(...s),
    });
    try {
      await until(() => runtime.length > 0);
      expect(runtime[0]).toMatchObject({
        kind: 'security.crypto_miner_process',
        subject: { node: 'node-9' },
      });
      const line =
        '2026-03-02T14:00:00Z node-9 sshd[1]: Accepted password for deploy from 192.0.2.1 port 1 ssh2';
      expect(detectors.auth.processLine(line).map((s) => s.evidence?.attributes?.['rule'])).toEqual([
        'ssh-login-accepted',
      ]);

      writeFileSync(userRules, 'source: auth\nrules:\n  - { id: ssh-login-accepted, enabled: false }\n');
      await until(() => !detectors.ruleSet().rules.some((r) => r.id === 'ssh-login-accepted'));
      expect(detectors.auth.processLine(line)).toEqual([]);
    } finally {
      detectors.close();
    }
  });
});
