// The agent's Kubernetes connection against HTTP(S) servers standing in for an API server that checks
// certificates, rotates tokens, refuses, or lies: TLS with the cluster CA and a client certificate, the token file
// read again as it is rotated, an error Status turned into a message that says what the server said, and a body
// that is not JSON an error that names the request.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeApiError, KubeConnection } from '../../../agent/kube-api/connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-kube-conn-'));
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function server(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handle);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => s.close(r)));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

describe("the agent's Kubernetes connection", () => {
  it('verifies the server against the cluster CA and presents its client certificate', async () => {
    const ca = await generate([{ name: 'commonName', value: 'kubernetes' }], {
      algorithm: 'sha256',
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }],
    });
    const signedBy = { key: ca.private, cert: ca.cert };
    const serverPems = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
      algorithm: 'sha256',
      ca: signedBy,
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const clientPems = await generate([{ name: 'commonName', value: 'system:node:node-1' }], {
      algorithm: 'sha256',
      ca: signedBy,
    });
    const clients: Array<{ authorized: boolean; cn: unknown }> = [];
    const s = createHttpsServer(
      {
        key: serverPems.private,
        cert: serverPems.cert,
        ca: ca.cert,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        clients.push({ authorized: socket.authorized, cn: socket.getPeerCertificate().subject?.CN });
        res.end('{"kind":"Node"}');
      },
    );
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => s.close(r)));
    const server = `https://127.0.0.1:${(s.address() as { port: number }).port}`;
    const api = new KubeConnection({
      server,
      insecure: false,
      ca: Buffer.from(ca.cert),
      cert: Buffer.from(clientPems.cert),
      key: Buffer.from(clientPems.private),
    });
    const noCa = new KubeConnection({ server, insecure: false });
    const insecure = new KubeConnection({ server, insecure: true });
    cleanups.push(
      () => api.close(),
      () => noCa.close(),
      () => insecure.close(),
    );
    expect(await api.get('/api/v1/nodes/node-1')).toEqual({ kind: 'Node' });
    expect(clients).toEqual([{ authorized: true, cn: 'system:node:node-1' }]);
    await expect(noCa.get('/api/v1/nodes/node-1')).rejects.toThrow(/self-signed certificate/);
    expect(await insecure.get('/api/v1/nodes/node-1')).toEqual({ kind: 'Node' });
  });

  it('reads a rotated token file again once its token has been used for the TTL', async () => {
    const seen: string[] = [];
    const url = await server((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.end('{}');
    });
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first\n');
    const cached = new KubeConnection({ server: url, insecure: false, tokenFile });
    const fresh = new KubeConnection({ server: url, insecure: false, tokenFile }, { tokenTtlMs: 0 });
    cleanups.push(
      () => cached.close(),
      () => fresh.close(),
    );
    await cached.get('/api/v1/nodes/n');
    await fresh.get('/api/v1/nodes/n');
    writeFileSync(tokenFile, 'second\n');
    await cached.get('/api/v1/nodes/n');
    await fresh.get('/api/v1/nodes/n');
    expect(seen).toEqual(['Bearer first', 'Bearer first', 'Bearer first', 'Bearer second']);
  });

  it("turns an error Status into a KubeApiError carrying the server's reason and message", async () => {
    const url = await server((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          reason: 'Forbidden',
          code: 403,
          message:
            'nodes "n" is forbidden: User "system:serviceaccount:vigil:agent" cannot update resource "nodes"',
        }),
      );
    });
    const api = new KubeConnection({ server: url, insecure: false, token: 't' });
    cleanups.push(() => api.close());
    const error = await api.put('/api/v1/nodes/n', { metadata: { name: 'n' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect((error as Error).message).toMatch(/^403 Forbidden: nodes "n" is forbidden: .* cannot update/);
  });

  it('ends a watch on which nothing arrives for its idle time (a connection that died silently)', async () => {
    const url = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1"}}}\n'); // then silence
    });
    const api = new KubeConnection({ server: url, insecure: false });
    cleanups.push(() => api.close());
    const res = await api.stream('/api/v1/pods', { watch: '1' }, new AbortController().signal, 300);
    const read = (async () => {
      for await (const _chunk of res);
    })();
    await expect(read).rejects.toThrow(`GET /api/v1/pods: nothing from ${url} in 300 ms`);
  });

  it('names the request when the server answers with something that is not JSON', async () => {
    const url = await server((_req, res) => res.end('<html>proxy error</html>'));
    const api = new KubeConnection({ server: url, insecure: false });
    cleanups.push(() => api.close());
    await expect(api.get('/api/v1/pods')).rejects.toThrow(
      'GET /api/v1/pods: the API server sent invalid JSON (<html>proxy error</html>)',
    );
  });
});
