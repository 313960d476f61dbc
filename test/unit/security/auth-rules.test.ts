import { describe, expect, it } from 'vitest';
import { createAuthLogDetector } from '../../../agent/detect/security/log-detector.ts';
import { loadRuleSet } from '../../../agent/detect/security/rule-loader.ts';

const rules = loadRuleSet();
const NOW = Date.parse('2026-11-26T12:00:00Z');
const at = (second: number) =>
  `2026-03-02T14:${String(Math.floor(second / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}Z`;
const sshd = (second: number, message: string, pid = 100 + second) =>
  `${at(second)} node-1 sshd[${pid}]: ${message}`;
const fails = (ip: string, n: number, every = 5) =>
  Array.from({ length: n }, (_, i) =>
    sshd(i * every, `Failed password for root from ${ip} port ${40000 + i} ssh2`),
  );

/** For every shipped auth rule: lines that must fire it and near-miss lines that must not. */
const table: Record<string, { positive: string[]; negative: string[] }> = {
  'ssh-bruteforce': {
    positive: fails('192.0.2.1', 5),
    negative: [...fails('192.0.2.2', 4), ...fails('127.0.0.1', 10)],
  },
  'ssh-bruteforce-success': {
    positive: [...fails('192.0.2.3', 5), sshd(60, 'Accepted password for root from 192.0.2.3 port 1 ssh2')],
    negative: [...fails('192.0.2.4', 4), sshd(60, 'Accepted password for root from 192.0.2.4 port 1 ssh2')],
  },
  'ssh-auth-failure': {
    positive: [sshd(0, 'Invalid user test from 192.0.2.5 port 2')],
    negative: [sshd(0, 'Accepted publickey for deploy from 192.0.2.5 port 2 ssh2: ED25519 SHA256:abc')],
  },
  'ssh-break-in-attempt': {
    positive: [
      sshd(
        0,
        'reverse mapping checking getaddrinfo for x.example [192.0.2.6] failed - POSSIBLE BREAK-IN ATTEMPT!',
      ),
    ],
    negative: [sshd(0, 'Connection closed by 192.0.2.6 [preauth]')],
  },
  'ssh-preauth-scan': {
    positive: Array.from({ length: 10 }, (_, i) =>
      sshd(i * 30, 'Connection closed by 192.0.2.7 port 5 [preauth]'),
    ),
    negative: Array.from({ length: 9 }, (_, i) =>
      sshd(i * 30, 'Received disconnect from 192.0.2.8 port 5:11: Bye Bye [preauth]'),
    ),
  },
  'ssh-root-login': {
    positive: [sshd(0, 'Accepted publickey for root from 192.0.2.9 port 5 ssh2: RSA SHA256:abc')],
    negative: [sshd(0, 'Accepted publickey for admin from 192.0.2.9 port 5 ssh2: RSA SHA256:abc')],
  },
  'console-root-login': {
    positive: [`${at(0)} node-1 login[77]: ROOT LOGIN ON tty1`],
    negative: [
      `${at(0)} node-1 login[77]: pam_unix(login:session): session opened for user bob(uid=1000) by LOGIN(uid=0)`,
    ],
  },
  'ssh-login-accepted': {
    positive: [sshd(0, 'Accepted password for deploy from 192.0.2.10 port 5 ssh2')],
    negative: [sshd(0, 'Failed password for deploy from 192.0.2.10 port 5 ssh2')],
  },
  'sudo-auth-failure': {
    positive: [
      `${at(0)} node-1 sudo:   bob : 1 incorrect password attempt ; TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls`,
    ],
    negative: [`${at(0)} node-1 sudo:   bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls`],
  },
};

function fired(lines: string[]): string[] {
  const detector = createAuthLogDetector(rules, { nowMs: NOW });
  return lines.flatMap((l) => detector.processLine(l)).map((s) => s.evidence?.attributes?.['rule'] ?? '');
}

describe('auth rules, positive and negative', () => {
  it('covers every shipped auth rule and escalation', () => {
    const ids = rules.rules
      .filter((r) => r.source === 'auth')
      .flatMap((r) => [r.id, ...(r.escalate ? [r.escalate.id] : [])]);
    expect(Object.keys(table).sort()).toEqual(ids.sort());
  });

  it.each(Object.keys(table))('%s fires on its positive lines and not on its negatives', (id) => {
    const { positive, negative } = table[id]!;
    expect(fired(positive)).toContain(id);
    expect(fired(negative)).not.toContain(id);
  });

  it('reads OpenSSH 9.8+ sshd-session lines and modern pre-auth messages', () => {
    const scan = [
      ...Array.from(
        { length: 5 },
        (_, i) => `${at(i)} n sshd-session[9]: Disconnected from invalid user a 192.0.2.20 port 1 [preauth]`,
      ),
      ...Array.from(
        { length: 5 },
        (_, i) =>
          `${at(10 + i)} n sshd[9]: Unable to negotiate with 192.0.2.20 port 2: no matching key exchange method found.`,
      ),
    ];
    expect(fired(scan)).toEqual(['ssh-preauth-scan']);
  });
});
