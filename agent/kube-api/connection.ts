// The agent's own small Kubernetes API client. The agent lists and watches its node's pods and its node, and
// reads and replaces its node object. @kubernetes/client-node does all that, but importing it costs ≈ 70 MiB of
// memory (its KubeConfig loads every generated API model), a third of an agent, on every node of the cluster.
// The aggregator, one process with many more API uses, keeps the library.
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { KubeTarget } from './target.ts';

/** A request the API server answered with an error status (its `Status` object's reason and message). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

/**
 * How long a token read from a file is used before the file is read again: the kubelet rotates projected service
 * account tokens (valid for an hour, renewed at 80 %); client-go re-reads every minute.
 */
const TOKEN_FILE_TTL_MS = 60_000;
/** Requests other than watches: a stuck API server fails the request instead of holding it for ever. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The largest JSON document accepted (etcd's object limit is 1.5 MiB; a list of a node's pods is far less). */
const MAX_BODY_BYTES = 64 << 20;

export class KubeConnection {
  private readonly target: KubeTarget;
  private readonly agent: http.Agent;
  private readonly client: typeof http | typeof https;
  private readonly tokenTtlMs: number;
  private token: { value: string; readMs: number } | undefined;

  constructor(target: KubeTarget, opts: { tokenTtlMs?: number } = {}) {
    this.target = target;
    this.tokenTtlMs = opts.tokenTtlMs ?? TOKEN_FILE_TTL_MS;
    const secure = target.server.startsWith('https:');
    this.client = secure ? https : http;
    this.agent = secure
      ? new https.Agent({
          keepAlive: true,
          rejectUnauthorized: !target.insecure,
          ...(target.ca ? { ca: target.ca } : {}),
          ...(target.cert ? { cert: target.cert } : {}),
          ...(target.key ? { key: target.key } : {}),
        })
      : new http.Agent({ keepAlive: true });
  }

  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.json<T>('GET', path, query);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('PUT', path, {}, body);
  }

  /**
   * Opens a streaming GET (a watch): resolves with the response once its status is 200, rejects with a
   * KubeApiError otherwise. Aborting `signal` ends the stream, and so does `idleMs` without a byte.
   */
  async stream(
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
    idleMs: number,
  ): Promise<IncomingMessage> {
    const res = await this.send('GET', path, query, undefined, signal, idleMs);
    if (res.statusCode === 200) return res;
    throw errorOf(res, await readBody(res));
  }

  close(): void {
    this.agent.destroy();
  }

  private async json<T>(
    method: string,
    path: string,
    query: Record<string, string | undefined>,
    body?: unknown,
  ): Promise<T> {
    const res = await this.send(method, path, query, body, undefined, REQUEST_TIMEOUT_MS);
    const text = await readBody(res);
    if (res.statusCode === undefined || res.statusCode >= 300) throw errorOf(res, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${method} ${path}: the API server sent invalid JSON (${text.slice(0, 80)})`);
    }
  }

  private send(
    method: string,
    path: string,
    query: Record<string, string | undefined>,
    body: unknown,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<IncomingMessage> {
    const url = new URL(this.target.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'vigil-agent' };
    const token = this.bearer();
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolvePromise, reject) => {
      const req = this.client.request(url, {
        method,
        headers,
        agent: this.agent,
        ...(signal ? { signal } : {}),
      });
      let response: IncomingMessage | undefined;
      // An idle timeout: no byte in either direction for that long. The error goes to the response too, so that
      // a reader of a stream learns why it ended (it would only see "aborted").
      req.setTimeout(timeoutMs, () => {
        const error = new Error(`${method} ${path}: nothing from ${this.target.server} in ${timeoutMs} ms`);
        response?.destroy(error);
        req.destroy(error);
      });
      req.once('response', (res) => {
        response = res;
        resolvePromise(res);
      });
      req.once('error', reject);
      req.end(payload);
    });
  }

  private bearer(): string | undefined {
    if (this.target.token) return this.target.token;
    const file = this.target.tokenFile;
    if (!file) return undefined;
    const now = Date.now();
    if (!this.token || now - this.token.readMs >= this.tokenTtlMs)
      this.token = { value: readFileSync(file, 'utf8').trim(), readMs: now };
    return this.token.value;
  }
}

/** The body of a response as text; a body over MAX_BODY_BYTES is an error, not a memory spike. */
function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.destroy(new Error(`the API server's answer exceeds ${MAX_BODY_BYTES >> 20} MiB`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

function errorOf(res: IncomingMessage, text: string): KubeApiError {
  const status = res.statusCode ?? 0;
  let reason = res.statusMessage ?? '';
  let message = text.slice(0, 200);
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason ?? reason;
    message = s.message ?? message;
  } catch {
    // not a Status object: keep the start of the text
  }
  return new KubeApiError(status, reason, `${status} ${reason}: ${message}`);
}
