import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AuthLogParser } from '../../../agent/detect/security/auth-parser.ts';
import { createAuthLogDetector } from '../../../agent/detect/security/log-detector.ts';
import { loadRuleSet } from '../../../agent/detect/security/rule-loader.ts';
import { toDetectLogRecord } from '../../../agent/detect/security/signal-record.ts';
import { parseSyslogTime } from '../../../agent/detect/security/syslog-time.ts';

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../fixtures/security/auth/${name}`, import.meta.url)), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const rules = loadRuleSet();
const NOW = Date.parse('2026-11-26T12:00:00Z');

function run(lines: string[], nowMs = NOW) {
  const detector = createAuthLogDetector(rules, { nowMs, node: 'node-3' });
  const signals = lines.flatMap((l) => detector.processLine(l));
  return { signals, records: signals.map(toDetectLogRecord), stats: detector.stats() };
}

describe('syslog timestamps', () => {
  it('reads a year-less timestamp in the current year', () => {
    expect(parseSyslogTime('Mar  2 10:00:00 host x: y', NOW)?.timeMs).toBe(
      Date.parse('2026-03-02T10:00:00Z'),
    );
  });
  it('puts a year-less timestamp that would be in the future into the previous year', () => {
    expect(parseSyslogTime('Dec 10 06:55:46 LabSZ sshd[1]: x', NOW)?.timeMs).toBe(
      Date.parse('2025-12-10T06:55:46Z'),
    );
  });
  it('reads RFC 3339 timestamps with their offset', () => {
    expect(parseSyslogTime('2026-03-02T14:00:01.120+01:00 h p: m', NOW)?.timeMs).toBe(
      Date.parse('2026-03-02T13:00:01.120Z'),
    );
  });
  it('returns undefined for a line without a timestamp', () => {
    expect(parseSyslogTime('hello world', NOW)).toBeUndefined();
  });
});

describe('auth log parser', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    [
      'Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2',
      {
        action: 'failed_password',
        user: 'webmaster',
        source: '173.234.31.186',
        port: 38926,
        invalidUser: true,
        failures: 1,
      },
    ],
    [
      'Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]',
      { action: 'failed_password', user: 'root', source: '5.36.59.76', failures: 5 },
    ],
    [
      'Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!',
      { action: 'break_in_attempt', source: '173.234.31.186' },
    ],
    [
      'Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2',
      { action: 'accepted', user: 'fztu', source: '119.137.62.142', method: 'password' },
    ],
    [
      'Dec 10 07:07:45 LabSZ sshd[24206]: Received disconnect from 52.80.34.196: 11: Bye Bye [preauth]',
      { action: 'disconnect_preauth', source: '52.80.34.196' },
    ],
    [
      'Dec 10 07:02:47 LabSZ sshd[24203]: Connection closed by 212.47.254.145 [preauth]',
      { action: 'connection_closed_preauth', source: '212.47.254.145' },
    ],
    [
      'Jan  5 10:00:00 h sshd[1]: Connection closed by authenticating user root 10.1.1.1 port 22 [preauth]',
      { action: 'connection_closed_preauth', user: 'root', source: '10.1.1.1' },
    ],
    [
      'Jan  5 10:00:00 h sshd[1]: Invalid user admin from 2001:db8::7 port 4242',
      { action: 'invalid_user', user: 'admin', source: '2001:db8::7', failures: 1 },
    ],
    [
      'Jan  5 10:00:00 h sudo:    bob : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash',
      { action: 'sudo_not_in_sudoers', user: 'bob', targetUser: 'root', command: '/bin/bash' },
    ],
    ['Jan  5 10:00:00 h login[5]: ROOT LOGIN ON tty1', { action: 'root_login', user: 'root' }],
  ];
  it.each(cases)('parses %s', (line, expected) => {
    expect(new AuthLogParser({ nowMs: NOW }).parse(line)).toMatchObject(expected);
  });

  it('takes the source sshd appended, not one an attacker put in the user name', () => {
    const parser = new AuthLogParser({ nowMs: NOW });
    const spoofed = parser.parse(
      'Mar  2 10:00:00 h sshd[1]: Failed password for invalid user root from 10.0.0.1 port 22 ssh2 from 203.0.113.9 port 5555 ssh2',
    );
    expect(spoofed).toMatchObject({ source: '203.0.113.9', user: 'root from 10.0.0.1 port 22 ssh2' });
    const key = parser.parse(
      'Mar  2 10:00:00 h sshd[2]: Failed publickey for git from 192.0.2.4 port 22 ssh2: RSA SHA256:abc',
    );
    expect(key).toMatchObject({ action: 'failed_password', method: 'publickey', source: '192.0.2.4' });
  });

  it('counts one attempt once when sshd logs both "Invalid user" and "Failed password for invalid user"', () => {
    const parser = new AuthLogParser({ nowMs: NOW });
    const a = parser.parse('Dec 10 07:07:38 LabSZ sshd[24206]: Invalid user test9 from 52.80.34.196');
    const b = parser.parse(
      'Dec 10 07:07:45 LabSZ sshd[24206]: Failed password for invalid user test9 from 52.80.34.196 port 36060 ssh2',
    );
    expect((a?.failures ?? 0) + (b?.failures ?? 0)).toBe(1);
  });

  it('counts lines that are not syslog and skips them', () => {
    const { signals, stats } = run([
      'garbage',
      '',
      'Dec 10 06:55:46 LabSZ sshd[1]: Server listening on 0.0.0.0 port 22.',
    ]);
    expect(signals).toEqual([]);
    expect(stats.skipped).toBe(2);
  });
});

describe('SSH brute force', () => {
  it('raises a warning at 5 failures from one source and a critical signal when that source then logs in', () => {
    const { records, signals } = run(fixture('bruteforce-then-success.log'));
    const brute = records.filter((r) => r.rule === 'ssh-bruteforce');
    expect(brute).toEqual([
      expect.objectContaining({
        severity: 'warning',
        subject: '203.0.113.45',
        count: 5,
        technique: 'T1110.001',
      }),
    ]);
    expect(brute[0]?.time).toBe('2026-03-02T14:00:28.300Z');
    const crossing = signals.find((s) => s.evidence?.attributes?.['rule'] === 'ssh-bruteforce');
    expect(crossing?.evidence?.attributes?.['user']).toBe('oracle,root,ubuntu');
    const success = records.filter((r) => r.rule === 'ssh-bruteforce-success');
    expect(success).toEqual([
      expect.objectContaining({
        severity: 'critical',
        subject: '203.0.113.45',
        count: 6,
        time: '2026-03-02T14:01:02.700Z',
      }),
    ]);
    const critical = signals.find((s) => s.severity === 'critical')!;
    expect(critical.subject).toMatchObject({ kind: 'source', name: '203.0.113.45', node: 'node-3' });
    expect(critical.evidence?.lines?.at(-1)).toMatch(/Accepted password for ubuntu/);
    expect(critical.evidence?.attributes).toMatchObject({ user: 'ubuntu' });
  });

  it('does not escalate a login from a source that never crossed the threshold', () => {
    const { records } = run(fixture('bruteforce-then-success.log'));
    expect(records.filter((r) => r.subject === '198.51.100.7' && r.severity === 'critical')).toEqual([]);
    expect(records.some((r) => r.rule === 'ssh-login-accepted' && r.subject === '198.51.100.7')).toBe(true);
  });

  it('reports the first failure of each source per episode for cross-node spraying detection', () => {
    const { records } = run(fixture('bruteforce-then-success.log'));
    expect(records.filter((r) => r.rule === 'ssh-auth-failure')).toEqual([
      expect.objectContaining({
        subject: '203.0.113.45',
        severity: 'info',
        technique: 'T1110.003',
        count: 1,
      }),
    ]);
  });

  it('ignores failures spread wider than 10 minutes and trusted sources', () => {
    const { records } = run(fixture('slow-guesser.log'));
    expect(records.filter((r) => r.rule.startsWith('ssh-bruteforce'))).toEqual([]);
    expect(records.filter((r) => r.rule === 'console-root-login')).toHaveLength(1);
  });

  it('reports sudo failures once per user burst', () => {
    const { records } = run(fixture('bruteforce-then-success.log'));
    expect(records.filter((r) => r.rule === 'sudo-auth-failure')).toEqual([
      expect.objectContaining({ subject: 'ubuntu', technique: 'T1548.003' }),
    ]);
  });

  it('keeps per-source state bounded, evicting the least recently seen sources', () => {
    const detector = createAuthLogDetector(rules, { nowMs: NOW, maxGroups: 100 });
    for (let i = 0; i < 1000; i++) {
      detector.processLine(
        `2026-03-02T14:00:00Z h sshd[${i}]: Failed password for root from 10.0.${i >> 8}.${i & 255} port 1 ssh2`,
      );
    }
    // Each threshold rule keeps its own 100 groups (ssh-bruteforce and ssh-auth-failure count sources).
    expect(detector.stats().evictedGroups).toBe(900 * 2);
  });

  it('starts a new episode after the source has been quiet for the window', () => {
    const lines: string[] = [];
    for (const minute of [0, 0, 0, 0, 0, 30, 30, 30, 30, 30]) {
      lines.push(
        `2026-03-02T14:${String(minute).padStart(2, '0')}:00Z h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2`,
      );
    }
    expect(run(lines).records.filter((r) => r.rule === 'ssh-bruteforce')).toHaveLength(2);
  });
});
