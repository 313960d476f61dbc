// Host log files: `var/log/auth.log` in traditional syslog format (as sshd and CRON write it on
// Debian/Ubuntu) and the API server's audit log (audit.k8s.io/v1 Event JSON lines) on the control plane.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AuditRecord } from '../api/server.ts';
import { isoNanos } from '../clock.ts';
import type { Random } from '../random.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function syslogTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export class AuthLog {
  readonly path: string;
  private readonly host: string;
  private readonly random: Random;

  constructor(nodeRoot: string, host: string, random: Random) {
    this.path = join(nodeRoot, 'var', 'log', 'auth.log');
    this.host = host;
    this.random = random;
    mkdirSync(dirname(this.path), { recursive: true });
  }

  write(wallMs: number, program: string, message: string, pid = this.random.int(1000, 65000)): void {
    appendFileSync(this.path, `${syslogTime(wallMs)} ${this.host} ${program}[${pid}]: ${message}\n`);
  }

  failedPassword(wallMs: number, user: string, ip: string, invalidUser: boolean): void {
    const pid = this.random.int(1000, 65000);
    const port = this.random.int(30000, 65000);
    if (invalidUser) this.write(wallMs, 'sshd', `Invalid user ${user} from ${ip} port ${port}`, pid);
    this.write(
      wallMs,
      'sshd',
      `Failed password for ${invalidUser ? 'invalid user ' : ''}${user} from ${ip} port ${port} ssh2`,
      pid,
    );
  }

  acceptedPassword(wallMs: number, user: string, ip: string): void {
    const pid = this.random.int(1000, 65000);
    this.write(
      wallMs,
      'sshd',
      `Accepted password for ${user} from ${ip} port ${this.random.int(30000, 65000)} ssh2`,
      pid,
    );
    this.write(
      wallMs,
      'sshd',
      `pam_unix(sshd:session): session opened for user ${user}(uid=1000) by (uid=0)`,
      pid,
    );
  }

  cronSession(wallMs: number): void {
    const pid = this.random.int(1000, 65000);
    this.write(wallMs, 'CRON', 'pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)', pid);
    this.write(wallMs, 'CRON', 'pam_unix(cron:session): session closed for user root', pid);
  }
}

export class AuditLog {
  readonly path: string;
  private readonly random: Random;

  constructor(nodeRoot: string, random: Random) {
    this.path = join(nodeRoot, 'var', 'log', 'kube-apiserver', 'audit.log');
    this.random = random;
    mkdirSync(dirname(this.path), { recursive: true });
  }

  write(record: AuditRecord): void {
    const event: Record<string, unknown> = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: record.requestObject !== undefined ? 'RequestResponse' : 'Metadata',
      auditID: this.random.uuid(),
      stage: 'ResponseComplete',
      requestURI: record.requestURI,
      verb: record.verb,
      user: { username: record.user, groups: record.groups },
      sourceIPs: [record.sourceIP],
      userAgent: record.userAgent,
      objectRef: record.objectRef,
      responseStatus: { metadata: {}, code: record.code },
      requestReceivedTimestamp: isoNanos(record.receivedMs).replace(/000Z$/, 'Z'),
      stageTimestamp: isoNanos(record.completedMs).replace(/000Z$/, 'Z'),
      annotations: {
        'authorization.k8s.io/decision': 'allow',
        'authorization.k8s.io/reason':
          record.user === 'kubernetes-admin'
            ? 'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"'
            : '',
      },
    };
    if (record.requestObject !== undefined) event.requestObject = record.requestObject;
    appendFileSync(this.path, `${JSON.stringify(event)}\n`);
  }
}
