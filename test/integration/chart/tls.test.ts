import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { agentName, aggregatorName, find, type Manifest, namespace, render } from './helm.ts';

type Material = { ca: string; cert: string; key: string };

function material(manifests: Manifest[], name: string): Material {
  const secret = find(manifests, 'Secret', name);
  expect(secret.type).toBe('kubernetes.io/tls');
  const decode = (key: string) => Buffer.from(secret.data[key] as string, 'base64').toString('utf8');
  return { ca: decode('ca.crt'), cert: decode('tls.crt'), key: decode('tls.key') };
}

// A TLS server holding the aggregator's material that requires a client certificate, as the gRPC port does.
async function handshake(server: Material, client: Partial<Material>, servername: string): Promise<string> {
  const listener = createServer({ ...server, requestCert: true, rejectUnauthorized: true }, (socket) =>
    socket.end('ok'),
  );
  // A refused client makes the server emit tlsClientError; the client side reports the failure.
  listener.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve) => {
      const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername, ...client });
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk;
      });
      socket.on('end', () => resolve(data === 'ok' ? 'ok' : 'closed without data'));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  } finally {
    await new Promise((resolve) => listener.close(resolve));
  }
}

describe('chart-generated TLS (tls.autoGenerate)', () => {
  const manifests = render({ set: { 'tls.enabled': true, 'tls.autoGenerate': true } });
  const aggregatorTls = material(manifests, `${aggregatorName}-tls`);
  const agentTls = material(manifests, `${agentName}-tls`);
  const serviceName = `${aggregatorName}.${namespace}.svc`;

  it('mounts the generated Secrets in the pods', () => {
    const secretOf = (kind: string, name: string) =>
      find(manifests, kind, name).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls')
        .secret.secretName;
    expect(secretOf('DaemonSet', agentName)).toBe(`${agentName}-tls`);
    expect(secretOf('Deployment', aggregatorName)).toBe(`${aggregatorName}-tls`);
  });

  it('issues the server certificate for every name agents may dial, from the CA both sides trust', () => {
    const server = new X509Certificate(aggregatorTls.cert);
    const ca = new X509Certificate(aggregatorTls.ca);
    for (const name of [
      aggregatorName,
      `${aggregatorName}.${namespace}`,
      serviceName,
      `${serviceName}.cluster.local`,
    ])
      expect(server.checkHost(name), name).toBe(name);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(agentTls.ca).toBe(aggregatorTls.ca);
    expect(new X509Certificate(agentTls.cert).verify(ca.publicKey)).toBe(true);
  });

  it('completes a mutual-TLS handshake between the agent and aggregator material', async () => {
    expect(await handshake(aggregatorTls, agentTls, serviceName)).toBe('ok');
  });

  it('refuses a client without a certificate and a server name the certificate does not hold', async () => {
    expect(await handshake(aggregatorTls, { ca: agentTls.ca }, serviceName)).not.toBe('ok');
    expect(await handshake(aggregatorTls, agentTls, 'aggregator.elsewhere.svc')).toBe(
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  });

  it('renders no Secret when the Secrets are named by the user', () => {
    const named = render({
      set: { 'tls.enabled': true },
      setString: { 'tls.agentSecretName': 'a', 'tls.aggregatorSecretName': 'b' },
    });
    expect(named.some((m) => m.kind === 'Secret')).toBe(false);
  });
});
