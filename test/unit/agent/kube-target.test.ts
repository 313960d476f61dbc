// How the agent finds the Kubernetes API: a kubeconfig's current context (token, token file, client
// certificate, inline or in files relative to the kubeconfig), the in-cluster service account, and a clear
// error for what it does not support.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { inClusterTarget, kubeTargetFromFile } from '../../../agent/kube-api/target.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-kube-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(
  name: string,
  user: object,
  cluster: object = { server: 'https://10.0.0.1:6443/' },
): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      contexts: [
        { name: 'other', context: { cluster: 'nope', user: 'nope' } },
        { name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'ignored' } },
      ],
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      preferences: {},
    }),
  );
  return path;
}

describe('kubeTargetFromFile', () => {
  it('reads the current context: server, CA and token', () => {
    const t = kubeTargetFromFile(
      kubeconfig(
        'token.yaml',
        { token: 'abc' },
        {
          server: 'https://10.0.0.1:6443/',
          'certificate-authority-data': Buffer.from('CA PEM').toString('base64'),
        },
      ),
    );
    expect(t).toEqual({
      server: 'https://10.0.0.1:6443',
      insecure: false,
      ca: Buffer.from('CA PEM'),
      token: 'abc',
    });
  });

  it('reads client certificates and token files relative to the kubeconfig', () => {
    mkdirSync(join(dir, 'pki'), { recursive: true });
    writeFileSync(join(dir, 'pki/client.crt'), 'CERT');
    writeFileSync(join(dir, 'pki/client.key'), 'KEY');
    writeFileSync(join(dir, 'pki/ca.crt'), 'CA');
    const t = kubeTargetFromFile(
      kubeconfig(
        'certs.yaml',
        { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key', tokenFile: 'pki/token' },
        { server: 'https://k', 'certificate-authority': 'pki/ca.crt', 'insecure-skip-tls-verify': true },
      ),
    );
    expect(t.cert?.toString()).toBe('CERT');
    expect(t.key?.toString()).toBe('KEY');
    expect(t.ca?.toString()).toBe('CA');
    expect(t.insecure).toBe(true);
    expect(t.tokenFile).toBe(join(dir, 'pki/token'));
  });

  it('refuses exec and auth-provider users with a message that says what to do', () => {
    const path = kubeconfig('exec.yaml', { exec: { command: 'aws', args: ['eks', 'get-token'] } });
    expect(() => kubeTargetFromFile(path)).toThrow(
      new RegExp(
        `cannot load kubeconfig ${path}: user u signs in through an exec or auth-provider plugin.*token or a client certificate`,
      ),
    );
  });

  it('names the file and the problem for a broken kubeconfig', () => {
    const missingContext = join(dir, 'no-context.yaml');
    writeFileSync(
      missingContext,
      stringify({ 'current-context': 'gone', contexts: [], clusters: [], users: [] }),
    );
    expect(() => kubeTargetFromFile(missingContext)).toThrow(
      `cannot load kubeconfig ${missingContext}: no context named gone`,
    );
    const badShape = join(dir, 'bad.yaml');
    writeFileSync(badShape, stringify({ clusters: [{ name: 'c', cluster: { server: 42 } }] }));
    expect(() => kubeTargetFromFile(badShape)).toThrow(
      /cannot load kubeconfig .*bad\.yaml: clusters\.0\.cluster\.server/,
    );
    const notYaml = join(dir, 'junk.yaml');
    writeFileSync(notYaml, 'a: [unclosed');
    expect(() => kubeTargetFromFile(notYaml)).toThrow(/cannot load kubeconfig .*junk\.yaml/);
    expect(() => kubeTargetFromFile(join(dir, 'absent.yaml'))).toThrow(
      /cannot load kubeconfig .*absent\.yaml: ENOENT/,
    );
  });
});

describe('inClusterTarget', () => {
  const sa = join(dir, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'sa-token\n');
  writeFileSync(join(sa, 'ca.crt'), 'CLUSTER CA');

  it("uses the service's address, the token file and the cluster CA", () => {
    expect(
      inClusterTarget({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa),
    ).toEqual({
      server: 'https://10.96.0.1:443',
      insecure: false,
      tokenFile: join(sa, 'token'),
      ca: Buffer.from('CLUSTER CA'),
    });
    expect(
      inClusterTarget({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa)?.server,
    ).toBe('https://[fd00::1]:443');
  });

  it('is nothing outside a cluster', () => {
    expect(inClusterTarget({}, sa)).toBeUndefined();
    expect(
      inClusterTarget({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' }, join(dir, 'none')),
    ).toBeUndefined();
  });
});
