import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addService,
  createClient,
  MalformedMessage,
  type ServiceClient,
} from '../../../common/grpc/adapter.ts';
import {
  EchoRequestSchema,
  EchoResponseSchema,
  EchoService,
} from '../../../proto/gen/vigil/testing/v1/echo_pb.js';

const reply = (text: string, index: number) => create(EchoResponseSchema, { text, index });

describe('gRPC adapter against a real grpc-js server', () => {
  let server: grpc.Server;
  let client: ServiceClient<typeof EchoService>;
  let address: string;
  const malformed: string[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    addService(
      server,
      EchoService,
      {
        unary: (call, callback) => callback(null, reply(call.request.text.toUpperCase(), 0)),
        serverStream: (call) => {
          for (let i = 0; i < call.request.repeat; i++) call.write(reply(call.request.text, i));
          call.end();
        },
        clientStream: (call, callback) => {
          const parts: string[] = [];
          call.on('data', (m) => {
            if (m instanceof MalformedMessage) return;
            parts.push(m.text);
          });
          call.on('end', () => callback(null, reply(parts.join('+'), parts.length)));
        },
        bidi: (call) => {
          let i = 0;
          call.on('data', (m) => {
            if (m instanceof MalformedMessage) {
              malformed.push(m.message);
              call.write(reply(`rejected: ${m.message}`, -1));
              return;
            }
            call.write(reply(m.text, i++));
          });
          call.on('end', () => call.end());
        },
      },
      { onMalformed: (method, m) => malformed.push(`${method}: ${m.message}`) },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
    client = createClient(EchoService, address);
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('serves a unary call', async () => {
    const res = await client.unary(create(EchoRequestSchema, { text: 'hello' }));
    expect(res.text).toBe('HELLO');
  });

  it('serves a server stream in order', async () => {
    const got: number[] = [];
    const stream = client.serverStream(create(EchoRequestSchema, { text: 'x', repeat: 5 }));
    for await (const m of stream) got.push((m as { index: number }).index);
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('serves a client stream', async () => {
    const { call, response } = client.clientStream();
    for (const t of ['a', 'b', 'c']) call.write(create(EchoRequestSchema, { text: t }));
    call.end();
    const res = await response;
    expect(res).toMatchObject({ text: 'a+b+c', index: 3 });
  });

  it('serves a bidirectional stream', async () => {
    const call = client.bidi();
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      call.on('data', (m) => got.push(m.text));
      call.on('end', resolve);
    });
    for (const t of ['one', 'two']) call.write(create(EchoRequestSchema, { text: t }));
    call.end();
    await done;
    expect(got).toEqual(['one', 'two']);
  });

  it('answers a malformed unary payload with INVALID_ARGUMENT naming the message type', async () => {
    const raw = new grpc.Client(address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      raw.makeUnaryRequest(
        '/vigil.testing.v1.EchoService/Unary',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff]), // field 1, length far beyond the frame
        (e) => resolve(e as grpc.ServiceError),
      );
    });
    raw.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/invalid vigil\.testing\.v1\.EchoRequest/);
    expect(malformed.some((m) => m.startsWith('/vigil.testing.v1.EchoService/Unary'))).toBe(true);
    // The server keeps serving.
    expect((await client.unary(create(EchoRequestSchema, { text: 'still' }))).text).toBe('STILL');
  });

  it('hands a malformed frame in a bidi stream to the handler, and the stream goes on', async () => {
    const raw = new grpc.Client(address, grpc.credentials.createInsecure());
    const call = raw.makeBidiStreamRequest(
      '/vigil.testing.v1.EchoService/Bidi',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      call.on('data', (b: Buffer) => got.push(String(b.subarray(2))));
      call.on('end', resolve);
    });
    call.write(Buffer.from([0x0a, 0x80])); // truncated varint length
    call.write(Buffer.from([0x0a, 0x02, 0x6f, 0x6b])); // text = "ok"
    call.end();
    await done;
    raw.close();
    expect(got[0]).toMatch(/rejected: invalid vigil\.testing\.v1\.EchoRequest/);
    expect(got[1]?.startsWith('ok')).toBe(true);
  });
});
