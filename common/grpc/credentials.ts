// TLS for the gRPC ports, switched on by config (certificate, key and CA files). With a CA on the server,
// clients must present certificates (mutual TLS); per-node identity checks build on that later.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export interface TlsFiles {
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read TLS ${what} ${path}: ${(error as Error).message}`);
  }
}

export function serverCredentials(tls: TlsFiles): grpc.ServerCredentials {
  if (!tls.tlsCert && !tls.tlsKey) return grpc.ServerCredentials.createInsecure();
  if (!tls.tlsCert || !tls.tlsKey) throw new Error('TLS needs both a certificate and a key');
  const ca = tls.tlsCa ? read(tls.tlsCa, 'CA') : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: read(tls.tlsCert, 'certificate'), private_key: read(tls.tlsKey, 'key') }],
    ca !== null,
  );
}

export function channelCredentials(tls: TlsFiles): grpc.ChannelCredentials {
  if (!tls.tlsCa && !tls.tlsCert) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(
    tls.tlsCa ? read(tls.tlsCa, 'CA') : null,
    tls.tlsKey ? read(tls.tlsKey, 'key') : null,
    tls.tlsCert ? read(tls.tlsCert, 'certificate') : null,
  );
}
