// Parses host authentication logs (auth.log / secure) into flat events for the `auth` rules. Covers the
// sshd and sudo messages fail2ban's sshd filter and the Linux auth log carry. One attempt often writes
// several lines (`Invalid user x` then `Failed password for invalid user x`), so `failures` says how many
// failed attempts a line adds: 0 for echo lines, N for `message repeated N times: [ Failed ... ]`.

import { BoundedMap } from './bounded-map.ts';
import { parseSyslogTime } from './syslog-time.ts';

export type AuthAction =
  | 'failed_password'
  | 'invalid_user'
  | 'accepted'
  | 'pam_auth_failure'
  | 'max_auth_exceeded'
  | 'break_in_attempt'
  | 'disconnect_preauth'
  | 'connection_closed_preauth'
  | 'no_identification'
  | 'root_login_refused'
  | 'user_not_allowed'
  | 'session_opened'
  | 'session_closed'
  | 'sudo_auth_failure'
  | 'sudo_incorrect_password'
  | 'sudo_not_in_sudoers'
  | 'sudo_command'
  | 'root_login'
  | 'other';

export interface AuthEvent {
  timeMs: number;
  host: string;
  program: string;
  pid?: number;
  action: AuthAction;
  user?: string;
  /** Source IP (or host name when sshd logged one). */
  source?: string;
  port?: number;
  /** Authentication method of Failed/Accepted lines: password, publickey, none, keyboard-interactive… */
  method?: string;
  invalidUser?: boolean;
  /** Failed attempts this line adds to a brute-force count. */
  failures: number;
  /** For sudo: target user and command. */
  targetUser?: string;
  command?: string;
  message: string;
}

const HEADER = /^(\S+)\s+([\w./-]+?)(?:\[(\d+)\])?:\s?(.*)$/;
// The user name is attacker-chosen and may itself contain "from 10.0.0.1 port 22": the patterns anchor on
// the end of the line (greedy user, sshd's own suffix last) so the source is the one sshd appended.
const IP = String.raw`(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]+|\S+)`;

type Matcher = [RegExp, (m: RegExpExecArray, e: AuthEvent) => void];

const SSHD: Matcher[] = [
  [
    new RegExp(
      String.raw`^Failed (\S+) for (invalid user )?(.*) from ${IP} port (\d+)(?: ssh\d)?(?:: [\w-]+ \S+)?\s*$`,
    ),
    (m, e) => {
      e.action = 'failed_password';
      e.method = m[1]!;
      e.invalidUser = m[2] !== undefined;
      e.user = m[3]!;
      e.source = m[4]!;
      e.port = Number(m[5]);
      e.failures = 1;
    },
  ],
  [
    new RegExp(
      String.raw`^message repeated (\d+) times: \[ ?Failed (\S+) for (invalid user )?(.*) from ${IP} port (\d+)(?: ssh\d)?\]\s*$`,
    ),
    (m, e) => {
      e.action = 'failed_password';
      e.method = m[2]!;
      e.invalidUser = m[3] !== undefined;
      e.user = m[4]!;
      e.source = m[5]!;
      e.port = Number(m[6]);
      e.failures = Number(m[1]);
    },
  ],
  [
    new RegExp(String.raw`^(?:Invalid|Illegal) user (.*?) from ${IP}(?: port (\d+))?\s*$`),
    (m, e) => {
      e.action = 'invalid_user';
      e.user = m[1]!;
      e.invalidUser = true;
      e.source = m[2]!;
      if (m[3]) e.port = Number(m[3]);
      e.failures = 1;
    },
  ],
  [
    new RegExp(String.raw`^Accepted (\S+) for (.*) from ${IP} port (\d+)(?: ssh\d)?(?:: [\w-]+ \S+)?\s*$`),
    (m, e) => {
      e.action = 'accepted';
      e.method = m[1]!;
      e.user = m[2]!;
      e.source = m[3]!;
      e.port = Number(m[4]);
    },
  ],
  [
    /^reverse mapping checking getaddrinfo for (\S+) \[([^\]]+)\] failed - POSSIBLE BREAK-IN ATTEMPT!/,
    (m, e) => {
      e.action = 'break_in_attempt';
      e.source = m[2]!;
    },
  ],
  [
    new RegExp(
      String.raw`^Address ${IP} maps to \S+, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!`,
    ),
    (m, e) => {
      e.action = 'break_in_attempt';
      e.source = m[1]!;
    },
  ],
  [
    new RegExp(String.raw`^(?:error: )?Received disconnect from ${IP}(?: port \d+)?:.*\[preauth\]`),
    (m, e) => {
      e.action = 'disconnect_preauth';
      e.source = m[1]!;
    },
  ],
  [
    new RegExp(
      String.raw`^Connection (?:closed|reset) by (?:(?:invalid |authenticating )?user (\S+) )?${IP}(?: port \d+)? \[preauth\]`,
    ),
    (m, e) => {
      e.action = 'connection_closed_preauth';
      if (m[1]) e.user = m[1];
      e.source = m[2]!;
    },
  ],
  [
    new RegExp(
      `^Disconnected from (?:(?:invalid |authenticating )?user (\\S+) )?${IP} port \\d+ \\[preauth\\]`,
    ),
    (m, e) => {
      e.action = 'disconnect_preauth';
      if (m[1]) e.user = m[1];
      e.source = m[2]!;
    },
  ],
  [
    new RegExp(`^(?:banner exchange: Connection from|Unable to negotiate with) ${IP} port \\d+`),
    (m, e) => {
      e.action = 'no_identification';
      e.source = m[1]!;
    },
  ],
  [
    new RegExp(`^Did not receive identification string from ${IP}`),
    (m, e) => {
      e.action = 'no_identification';
      e.source = m[1]!;
    },
  ],
  [
    new RegExp(
      `^error: maximum authentication attempts exceeded for (invalid user )?(.*) from ${IP} port \\d+`,
    ),
    (m, e) => {
      e.action = 'max_auth_exceeded';
      e.invalidUser = m[1] !== undefined;
      e.user = m[2]!;
      e.source = m[3]!;
    },
  ],
  [
    /^Disconnecting(?: \S+ user \S+ \S+ port \d+)?: Too many authentication failures(?: for (\S+))?/,
    (m, e) => {
      e.action = 'max_auth_exceeded';
      if (m[1]) e.user = m[1];
    },
  ],
  [
    new RegExp(`^ROOT LOGIN REFUSED.* FROM ${IP}`),
    (m, e) => {
      e.action = 'root_login_refused';
      e.user = 'root';
      e.source = m[1]!;
      e.failures = 1;
    },
  ],
  [
    new RegExp(String.raw`^User (\S+) from ${IP} not allowed because`),
    (m, e) => {
      e.action = 'user_not_allowed';
      e.user = m[1]!;
      e.source = m[2]!;
      e.failures = 1;
    },
  ],
];

const PAM: Matcher[] = [
  [
    /^pam_unix\((\S+):auth\): authentication failure;.*?rhost=(\S*)(?:\s+user=(\S+))?/,
    (m, e) => {
      e.action = m[1]!.startsWith('sudo') ? 'sudo_auth_failure' : 'pam_auth_failure';
      if (m[2]) e.source = m[2];
      if (m[3]) e.user = m[3];
      if (e.action === 'sudo_auth_failure') {
        const logname = /logname=(\S+)/.exec(e.message)?.[1];
        const user = /\buser=(\S+)/.exec(e.message)?.[1];
        const who = user ?? logname;
        if (who) e.user = who;
      }
    },
  ],
  [
    /^PAM \d+ more authentication failures?;.*?rhost=(\S*)(?:\s+user=(\S+))?/,
    (m, e) => {
      e.action = 'pam_auth_failure';
      if (m[1]) e.source = m[1];
      if (m[2]) e.user = m[2];
    },
  ],
  [
    /^pam_unix\((\S+):session\): session (opened|closed) for user (\S+)/,
    (m, e) => {
      e.action = m[2] === 'opened' ? 'session_opened' : 'session_closed';
      e.user = m[3]!;
    },
  ],
];

const SUDO: Matcher[] = [
  [
    /^\s*(\S+) : (\d+) incorrect password attempts? ;.*?USER=(\S+) ; COMMAND=(.*)$/,
    (m, e) => {
      e.action = 'sudo_incorrect_password';
      e.user = m[1]!;
      e.failures = Number(m[2]);
      e.targetUser = m[3]!;
      e.command = m[4]!;
    },
  ],
  [
    /^\s*(\S+) : (?:user NOT in sudoers|user NOT authorized on host|command not allowed) ;.*?USER=(\S+) ; COMMAND=(.*)$/,
    (m, e) => {
      e.action = 'sudo_not_in_sudoers';
      e.user = m[1]!;
      e.targetUser = m[2]!;
      e.command = m[3]!;
    },
  ],
  [
    /^\s*(\S+) : (?:TTY=\S+ ; )?PWD=\S+ ; USER=(\S+) ; COMMAND=(.*)$/,
    (m, e) => {
      e.action = 'sudo_command';
      e.user = m[1]!;
      e.targetUser = m[2]!;
      e.command = m[3]!;
    },
  ],
];

const LOGIN: Matcher[] = [
  [
    /^ROOT LOGIN (?:ON|on) (\S+)(?: FROM (\S+))?/,
    (m, e) => {
      e.action = 'root_login';
      e.user = 'root';
      if (m[2]) e.source = m[2];
      e.method = m[1]!;
    },
  ],
];

export interface AuthParserOptions {
  /** Clock for year-less timestamps (see syslog-time.ts). */
  nowMs?: number;
  /** Cap on sshd sessions remembered to avoid counting one attempt twice. */
  maxSessions?: number;
}

/**
 * A stateful parser: it remembers which sshd sessions already counted an `Invalid user` line so the
 * `Failed password for invalid user` line of the same attempt does not count again.
 */
export class AuthLogParser {
  readonly #nowMs: number;
  readonly #pendingInvalid: BoundedMap<string, true>;
  unparsed = 0;

  constructor(options: AuthParserOptions = {}) {
    this.#nowMs = options.nowMs ?? Date.now();
    this.#pendingInvalid = new BoundedMap(options.maxSessions ?? 4096);
  }

  /** Parses one line; undefined when it is not a syslog line at all. */
  parse(line: string): AuthEvent | undefined {
    const stamped = parseSyslogTime(line, this.#nowMs);
    const header = stamped ? HEADER.exec(stamped.rest) : null;
    if (!stamped || !header) {
      this.unparsed++;
      return undefined;
    }
    const event: AuthEvent = {
      timeMs: stamped.timeMs,
      host: header[1]!,
      program: header[2]!,
      action: 'other',
      failures: 0,
      message: header[4]!,
    };
    if (header[3]) event.pid = Number(header[3]);
    const message = event.message;
    const matchers =
      event.program === 'sshd' || event.program.startsWith('sshd-')
        ? [...SSHD, ...PAM]
        : event.program === 'sudo'
          ? [...PAM, ...SUDO]
          : event.program === 'login'
            ? [...LOGIN, ...PAM]
            : PAM;
    for (const [re, apply] of matchers) {
      const m = re.exec(message);
      if (m) {
        apply(m, event);
        break;
      }
    }
    this.#dedupeAttempt(event);
    return event;
  }

  #dedupeAttempt(event: AuthEvent): void {
    if (event.pid === undefined || !event.user) return;
    const key = `${event.host}:${event.pid}:${event.user}`;
    if (event.action === 'invalid_user') {
      this.#pendingInvalid.set(key, true);
    } else if (event.action === 'failed_password' && event.invalidUser && this.#pendingInvalid.has(key)) {
      // This attempt was already counted by its `Invalid user` line.
      this.#pendingInvalid.delete(key);
      event.failures = Math.max(0, event.failures - 1);
    }
  }
}
