// protobuf-es has no @grpc/grpc-js adapter, so this module is ours: it turns a generated service descriptor
// into a grpc-js ServiceDefinition, types handlers and clients from the descriptor (a handler that does not
// match the proto fails to type-check), and turns an undecodable request into a clear INVALID_ARGUMENT
// instead of grpc-js's opaque INTERNAL.
import {
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import * as grpc from '@grpc/grpc-js';

/** Stands in for a request frame that did not decode; streaming handlers see it and decide. */
export class MalformedMessage {
  readonly error: Error;
  readonly schema: string;
  readonly bytes: number;
  constructor(schema: string, error: Error, bytes: number) {
    this.schema = schema;
    this.error = error;
    this.bytes = bytes;
  }
  get message(): string {
    return `invalid ${this.schema} (${this.bytes} bytes): ${this.error.message}`;
  }
}

type Shape<S> = S extends GenService<infer R> ? R : never;
type In<M> = M extends { input: infer D extends DescMessage } ? MessageShape<D> : never;
type Out<M> = M extends { output: infer D extends DescMessage } ? MessageShape<D> : never;

type Handler<M> = M extends { methodKind: 'unary' }
  ? grpc.handleUnaryCall<In<M>, Out<M>>
  : M extends { methodKind: 'server_streaming' }
    ? grpc.handleServerStreamingCall<In<M>, Out<M>>
    : M extends { methodKind: 'client_streaming' }
      ? grpc.handleClientStreamingCall<In<M> | MalformedMessage, Out<M>>
      : grpc.handleBidiStreamingCall<In<M> | MalformedMessage, Out<M>>;

/** The handlers a server must provide for service S, keyed by the methods' local names. */
export type ServiceHandlers<S> = { [K in keyof Shape<S>]: Handler<Shape<S>[K]> };

type ClientMethod<M> = M extends { methodKind: 'unary' }
  ? (request: In<M>, options?: grpc.CallOptions) => Promise<Out<M>>
  : M extends { methodKind: 'server_streaming' }
    ? (request: In<M>, options?: grpc.CallOptions) => grpc.ClientReadableStream<Out<M>>
    : M extends { methodKind: 'client_streaming' }
      ? (options?: grpc.CallOptions) => { call: grpc.ClientWritableStream<In<M>>; response: Promise<Out<M>> }
      : (options?: grpc.CallOptions) => grpc.ClientDuplexStream<In<M>, Out<M>>;

/** A typed client for service S; `close()` releases the channel. */
export type ServiceClient<S> = { [K in keyof Shape<S>]: ClientMethod<Shape<S>[K]> } & {
  close(): void;
  channel: grpc.Client;
};

export interface AdapterHooks {
  /** Called for every request frame that fails to decode (to count it). */
  onMalformed?: (method: string, malformed: MalformedMessage) => void;
}

function path(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function serializer(schema: DescMessage) {
  return (message: MessageShape<DescMessage>): Buffer => Buffer.from(toBinary(schema, message));
}

function lenientDeserializer(schema: DescMessage) {
  return (bytes: Buffer): MessageShape<DescMessage> | MalformedMessage => {
    try {
      return fromBinary(schema, bytes);
    } catch (error) {
      return new MalformedMessage(schema.typeName, error as Error, bytes.length);
    }
  };
}

function strictDeserializer(schema: DescMessage) {
  return (bytes: Buffer): MessageShape<DescMessage> => fromBinary(schema, bytes);
}

function isStreamingRequest(method: DescMethod): boolean {
  return method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming';
}

function isStreamingResponse(method: DescMethod): boolean {
  return method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming';
}

/** The grpc-js service definition for a protobuf-es service descriptor. */
export function serviceDefinition(service: GenService<GenServiceMethods>): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: path(method),
      originalName: method.name,
      requestStream: isStreamingRequest(method),
      responseStream: isStreamingResponse(method),
      requestSerialize: serializer(method.input) as (v: unknown) => Buffer,
      requestDeserialize: lenientDeserializer(method.input),
      responseSerialize: serializer(method.output) as (v: unknown) => Buffer,
      responseDeserialize: strictDeserializer(method.output),
    };
  }
  return definition;
}

function invalidArgument(malformed: MalformedMessage): Partial<grpc.StatusObject> {
  return { code: grpc.status.INVALID_ARGUMENT, details: malformed.message };
}

/** Adds service S to a grpc-js server with typed handlers. */
export function addService<S extends GenService<GenServiceMethods>>(
  server: grpc.Server,
  service: S,
  handlers: ServiceHandlers<S>,
  hooks: AdapterHooks = {},
): void {
  const implementation: grpc.UntypedServiceImplementation = {};
  const byName = handlers as unknown as Record<string, grpc.UntypedHandleCall>;
  for (const method of service.methods) {
    const handler = byName[method.localName];
    if (!handler) throw new Error(`handler for ${path(method)} is missing`);
    if (isStreamingRequest(method)) {
      implementation[method.localName] = handler;
      continue;
    }
    // Unary and server-streaming requests arrive whole: answer a malformed one here, once for all services.
    implementation[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback?: unknown) => {
      const request = call.request;
      if (request instanceof MalformedMessage) {
        hooks.onMalformed?.(path(method), request);
        if (typeof callback === 'function')
          (callback as grpc.sendUnaryData<unknown>)(invalidArgument(request));
        else (call as unknown as grpc.ServerWritableStream<unknown, unknown>).destroy(toError(request));
        return;
      }
      (handler as (c: unknown, cb?: unknown) => void)(call, callback);
    };
  }
  server.addService(serviceDefinition(service), implementation);
}

function toError(malformed: MalformedMessage): Error {
  return Object.assign(new Error(malformed.message), { code: grpc.status.INVALID_ARGUMENT });
}

/** A typed client for service S at `address`. */
export function createClient<S extends GenService<GenServiceMethods>>(
  service: S,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): ServiceClient<S> {
  const channel = new grpc.Client(address, credentials, options);
  const client: Record<string, unknown> = { channel, close: () => channel.close() };
  for (const method of service.methods) {
    const p = path(method);
    const ser = serializer(method.input);
    const de = strictDeserializer(method.output);
    switch (method.methodKind) {
      case 'unary':
        client[method.localName] = (request: unknown, callOptions: grpc.CallOptions = {}) =>
          new Promise((resolve, reject) => {
            channel.makeUnaryRequest(
              p,
              ser,
              de,
              request as never,
              new grpc.Metadata(),
              callOptions,
              (err, value) => (err ? reject(err) : resolve(value)),
            );
          });
        break;
      case 'server_streaming':
        client[method.localName] = (request: unknown, callOptions: grpc.CallOptions = {}) =>
          channel.makeServerStreamRequest(p, ser, de, request as never, new grpc.Metadata(), callOptions);
        break;
      case 'client_streaming':
        client[method.localName] = (callOptions: grpc.CallOptions = {}) => {
          let call!: grpc.ClientWritableStream<never>;
          const response = new Promise((resolve, reject) => {
            call = channel.makeClientStreamRequest<never, unknown>(
              p,
              ser,
              de,
              new grpc.Metadata(),
              callOptions,
              (err, value) => (err ? reject(err) : resolve(value)),
            );
          });
          return { call, response };
        };
        break;
      case 'bidi_streaming':
        client[method.localName] = (callOptions: grpc.CallOptions = {}) =>
          channel.makeBidiStreamRequest(p, ser, de, new grpc.Metadata(), callOptions);
        break;
    }
  }
  return client as ServiceClient<S>;
}
