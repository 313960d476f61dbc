// The Kubernetes REST and watch protocol over HTTP on loopback, backed by the in-memory Store. Real
// kubectl and @kubernetes/client-node talk to it unchanged (see docs/simulator.md for what is faithful).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/log.ts';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  coreVersions,
  openApiV3Document,
  openApiV3Index,
  SERVER_VERSION,
} from './discovery.ts';
import { budgetState, isPodReady } from './disruption.ts';
import {
  ApiError,
  badRequest,
  methodNotAllowed,
  notFound,
  tooManyRequests,
  unsupportedMediaType,
} from './errors.ts';
import { applyPatch, patchTypeOf } from './patch.ts';
import { groupVersion, qualifiedName, type ResourceType, resourceByKind } from './resources.ts';
import { type ResourceRoute, route } from './route.ts';
import {
  checkFieldSelector,
  parseFieldSelector,
  parseLabelSelector,
  specSelectorToString,
} from './selectors.ts';
import { type Filter, matches, type Store, type StoreEvent } from './store.ts';
import { toTable, wantsTable } from './table.ts';
import type { KubeObject, Pod, PodDisruptionBudget, Workload } from './types.ts';

export interface AuditRecord {
  verb: string;
  requestURI: string;
  user: string;
  groups: string[];
  userAgent: string;
  sourceIP: string;
  objectRef: {
    resource: string;
    namespace?: string;
    name?: string;
    apiGroup: string;
    apiVersion: string;
    subresource?: string;
  };
  code: number;
  requestObject?: unknown;
  receivedMs: number;
  completedMs: number;
}

export interface ApiHooks {
  /** Called for mutating requests and exec, after the response status is known. */
  audit?: (record: AuditRecord) => void;
  /** Serves pods/log from the node's CRI files; undefined when the container has no log. */
  podLog?: (
    pod: Pod,
    container: string,
    options: { tailLines?: number; previous?: boolean },
  ) => string | undefined;
}

export interface ApiServerOptions {
  store: Store;
  logger: Logger;
  port?: number;
  host?: string;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK; the real server uses ~1 min. */
  bookmarkIntervalMs?: number;
  hooks?: ApiHooks;
  now?: () => number;
}

export interface ApiServer {
  url: string;
  port: number;
  /** Ends every open watch stream, as an API server restart or a load balancer timeout would. */
  dropWatches(): number;
  close(): Promise<void>;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DEFAULT_WATCH_TIMEOUT_S = 1800;
const MAX_WATCH_BUFFER_BYTES = 16 * 1024 * 1024;

function userOf(req: IncomingMessage): { user: string; groups: string[] } {
  const auth = req.headers.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  // Any token is accepted; `user:<name>` tokens let tests act as someone else in the audit log.
  const named = /^user:([\w.@:-]+)$/.exec(token);
  if (named?.[1]) return { user: named[1], groups: ['system:authenticated'] };
  return { user: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, contentType: string | undefined): unknown {
  const ct = (contentType ?? 'application/json').split(';')[0]?.trim() ?? '';
  if (!ct.includes('json')) throw unsupportedMediaType(ct);
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding request body: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function listKind(t: ResourceType): string {
  return `${t.kind}List`;
}

/** Real list responses carry items without kind/apiVersion. */
function stripTypeMeta(o: KubeObject): KubeObject {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest as KubeObject;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const bookmarkMs = options.bookmarkIntervalMs ?? 10_000;
  const hooks = options.hooks ?? {};
  const openWatches = new Set<ServerResponse>();
  let serverAddress = '127.0.0.1';

  function filterFrom(r: ResourceRoute, q: URLSearchParams): Filter {
    const f: Filter = {};
    if (r.namespace) f.namespace = r.namespace;
    const ls = q.get('labelSelector');
    if (ls) f.labels = parseLabelSelector(ls);
    const fs = q.get('fieldSelector');
    if (fs) {
      const fields = parseFieldSelector(fs);
      checkFieldSelector(r.resource.kind, fields);
      f.fields = fields;
    }
    return f;
  }

  function getObject(r: ResourceRoute): KubeObject {
    return store.get(r.resource, r.namespace, r.name ?? '');
  }

  function scaleOf(t: ResourceType, w: Workload): Record<string, unknown> {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: w.metadata.name,
        namespace: w.metadata.namespace,
        uid: w.metadata.uid,
        resourceVersion: w.metadata.resourceVersion,
        creationTimestamp: w.metadata.creationTimestamp,
      },
      spec: { replicas: w.spec.replicas ?? 1 },
      status: { replicas: w.status?.replicas ?? 0, selector: specSelectorToString(w.spec.selector) },
      _type: t.kind,
    };
  }

  function evict(r: ResourceRoute): { code: number; body: unknown } {
    const pod = store.get<Pod>(r.resource, r.namespace, r.name ?? '');
    const pdbType = resourceByKind('PodDisruptionBudget');
    const pods = store.peek<Pod>(r.resource, { namespace: pod.metadata.namespace ?? 'default' });
    for (const pdb of store.peek<PodDisruptionBudget>(pdbType, {
      namespace: pod.metadata.namespace ?? 'default',
    })) {
      const state = budgetState(pdb, pods);
      const covered = pods.some((p) => p.metadata.uid === pod.metadata.uid) && state.expectedPods > 0;
      if (!covered) continue;
      const matchesPod = budgetState(pdb, [pod]).expectedPods === 1;
      if (!matchesPod) continue;
      // An unready pod may go whenever the budget is currently met (unhealthyPodEvictionPolicy IfHealthyBudget).
      if (!isPodReady(pod) && state.currentHealthy >= state.desiredHealthy) continue;
      if (state.disruptionsAllowed <= 0) {
        throw tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", {
          causes: [
            {
              reason: 'DisruptionBudget',
              message: `The disruption budget ${pdb.metadata.name} needs ${state.desiredHealthy} healthy pods and has ${state.currentHealthy} currently`,
            },
          ],
        });
      }
    }
    store.delete(r.resource, pod.metadata.namespace, pod.metadata.name);
    return {
      code: 201,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    };
  }

  function podLog(r: ResourceRoute, q: URLSearchParams): string {
    const pod = store.get<Pod>(r.resource, r.namespace, r.name ?? '');
    const containers = pod.spec.containers.map((c) => c.name);
    const container = q.get('container') ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container) {
      throw badRequest(
        `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`,
      );
    }
    if (!containers.includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
    }
    const opts: { tailLines?: number; previous?: boolean } = {};
    const tail = q.get('tailLines');
    if (tail) opts.tailLines = Number(tail);
    if (q.get('previous') === 'true') opts.previous = true;
    const text = hooks.podLog?.(pod, container, opts);
    if (text === undefined) {
      throw badRequest(
        `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ContainerCreating`,
      );
    }
    return text;
  }

  async function handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRoute,
    q: URLSearchParams,
    audit: { code: number; verb: string; requestObject?: unknown },
  ): Promise<void> {
    const t = r.resource;
    const method = req.method ?? 'GET';
    const accept = req.headers.accept;
    const table = wantsTable(accept);
    const dryRun = q.getAll('dryRun').includes('All');
    const reply = (code: number, body: unknown): void => {
      audit.code = code;
      send(res, code, body);
    };

    if (!r.name) {
      if (method === 'GET') {
        const filter = filterFrom(r, q);
        if (r.watchPath || q.get('watch') === 'true' || q.get('watch') === '1') {
          audit.verb = 'watch';
          watch(req, res, t, filter, q, table);
          return;
        }
        audit.verb = 'list';
        const limit = Number(q.get('limit') ?? 0) || undefined;
        const result = store.list(t, filter, limit, q.get('continue') ?? undefined);
        if (table) {
          return reply(
            200,
            toTable(
              t,
              result.items,
              result.resourceVersion,
              q.get('includeObject') ?? 'Metadata',
              now(),
              result.continueToken,
            ),
          );
        }
        const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
        if (result.continueToken) {
          metadata.continue = result.continueToken;
          metadata.remainingItemCount = result.remainingItemCount;
        }
        return reply(200, {
          kind: listKind(t),
          apiVersion: groupVersion(t),
          metadata,
          items: result.items.map(stripTypeMeta),
        });
      }
      if (method === 'POST') {
        audit.verb = 'create';
        const body = parseJson(await readBody(req), req.headers['content-type']) as KubeObject;
        audit.requestObject = body;
        if (body.kind && body.kind !== t.kind)
          throw badRequest(
            `the API version in the data (${body.apiVersion}) does not match the expected API version (${groupVersion(t)})`,
          );
        body.metadata = body.metadata ?? { name: '' };
        if (t.namespaced && r.namespace) {
          if (body.metadata.namespace && body.metadata.namespace !== r.namespace) {
            throw badRequest(
              'the namespace of the provided object does not match the namespace sent on the request',
            );
          }
          body.metadata.namespace = r.namespace;
        }
        if (dryRun) return reply(201, { ...body, apiVersion: groupVersion(t), kind: t.kind });
        return reply(201, store.create(t, body));
      }
      if (method === 'DELETE') {
        audit.verb = 'deletecollection';
        const filter = filterFrom(r, q);
        const items = store.peek(t, filter).map((o) => o.metadata);
        const deleted = items.map((m) => store.delete(t, m.namespace, m.name));
        return reply(200, {
          kind: listKind(t),
          apiVersion: groupVersion(t),
          metadata: { resourceVersion: store.resourceVersion },
          items: deleted,
        });
      }
      throw methodNotAllowed();
    }

    const sub = r.subresource;
    if (sub && !t.subresources.some((s) => s.name === sub)) throw notFound('', '', '', '');

    if (method === 'GET') {
      audit.verb = 'get';
      if (sub === 'log') {
        audit.code = 200;
        send(res, 200, podLog(r, q), 'text/plain');
        return;
      }
      if (sub === 'exec') throw badRequest('Upgrade request required');
      const obj = getObject(r);
      if (sub === 'scale') return reply(200, withoutType(scaleOf(t, obj as Workload)));
      if (table)
        return reply(
          200,
          toTable(t, [obj], obj.metadata.resourceVersion ?? '', q.get('includeObject') ?? 'Metadata', now()),
        );
      return reply(200, obj);
    }

    if (method === 'POST') {
      audit.verb = 'create';
      const body = parseJson(await readBody(req), req.headers['content-type']);
      audit.requestObject = body;
      if (sub === 'eviction') {
        if (dryRun)
          return reply(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
        const out = evict(r);
        return reply(out.code, out.body);
      }
      if (sub === 'binding') {
        const pod = store.get<Pod>(t, r.namespace, r.name);
        pod.spec.nodeName = (body as { target?: { name?: string } }).target?.name ?? '';
        store.update(t, pod);
        return reply(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      }
      if (sub === 'exec') throw badRequest('Upgrade request required');
      throw methodNotAllowed();
    }

    if (method === 'PUT' || method === 'PATCH') {
      audit.verb = method === 'PUT' ? 'update' : 'patch';
      const body = parseJson(
        await readBody(req),
        method === 'PUT' ? req.headers['content-type'] : 'application/json',
      );
      audit.requestObject = body;
      const current = getObject(r);
      let next: KubeObject;
      if (sub === 'scale') {
        const scale = scaleOf(t, current as Workload);
        const patched = method === 'PUT' ? body : patchWith(req, scale, body);
        const s = patched as { spec?: { replicas?: number }; metadata?: { resourceVersion?: string } };
        const w = current as Workload;
        if (
          method === 'PUT' &&
          s.metadata?.resourceVersion &&
          s.metadata.resourceVersion !== w.metadata.resourceVersion
        ) {
          w.metadata.resourceVersion = s.metadata.resourceVersion;
        }
        w.spec.replicas = s.spec?.replicas ?? w.spec.replicas ?? 1;
        if (dryRun) return reply(200, withoutType(scaleOf(t, w)));
        const saved = store.update(t, w, 'main') as Workload;
        return reply(200, withoutType(scaleOf(t, saved)));
      }
      if (method === 'PUT') {
        next = body as KubeObject;
      } else {
        next = patchWith(req, current, body) as KubeObject;
        // A patch applies to the version it read unless it names one itself.
        const patchRv = (body as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
        if (!Array.isArray(body) && !patchRv)
          next.metadata.resourceVersion = current.metadata.resourceVersion ?? '';
      }
      if (!next.metadata) throw badRequest('metadata is required');
      if (next.metadata.name && next.metadata.name !== r.name) {
        throw badRequest(
          `the name of the object (${next.metadata.name}) does not match the name on the URL (${r.name})`,
        );
      }
      next.metadata.name = r.name;
      if (r.namespace) next.metadata.namespace = r.namespace;
      if (dryRun) return reply(200, next);
      return reply(200, store.update(t, next, sub === 'status' ? 'status' : 'main'));
    }

    if (method === 'DELETE') {
      audit.verb = 'delete';
      if (sub) throw methodNotAllowed();
      const text = await readBody(req);
      const opts = (text ? parseJson(text, req.headers['content-type']) : {}) as {
        propagationPolicy?: string;
        preconditions?: { uid?: string; resourceVersion?: string };
      };
      const current = getObject(r);
      if (opts.preconditions?.uid && opts.preconditions.uid !== current.metadata.uid) {
        throw new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${qualifiedName(t)} "${r.name}": Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${current.metadata.uid}`,
          { name: r.name, group: t.group, kind: t.plural },
        );
      }
      if (dryRun) return reply(200, current);
      const policy = opts.propagationPolicy ?? q.get('propagationPolicy') ?? 'Background';
      return reply(200, store.delete(t, r.namespace, r.name, policy));
    }
    throw methodNotAllowed();
  }

  function patchWith(req: IncomingMessage, target: unknown, body: unknown): unknown {
    const type = patchTypeOf(req.headers['content-type']);
    if (!type) throw unsupportedMediaType(req.headers['content-type'] ?? '');
    return applyPatch(type, target, body);
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceType,
    filter: Filter,
    q: URLSearchParams,
    table: boolean,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    openWatches.add(res);
    const write = (type: string, object: unknown): void => {
      const obj =
        table && type !== 'ERROR' && type !== 'BOOKMARK'
          ? toTable(t, [object as KubeObject], store.resourceVersion, 'Object', now())
          : object;
      if (res.writableEnded) return;
      // A watcher that stops reading is cut off (as the real server drops slow watchers) instead of
      // buffering without bound; it resumes from its last resourceVersion.
      if (res.writableLength > MAX_WATCH_BUFFER_BYTES) {
        logger.warn({ resource: t.plural, buffered: res.writableLength }, 'sim api dropped a slow watcher');
        res.end();
        return;
      }
      res.write(`${JSON.stringify({ type, object: obj })}\n`);
    };
    const deliver = (e: StoreEvent): void => {
      if (e.resource !== t) return;
      const now = matches(filter, e.object);
      if (e.type === 'MODIFIED' && e.previous) {
        const before = matches(filter, e.previous);
        if (before && now) write('MODIFIED', e.object);
        else if (!before && now) write('ADDED', e.object);
        else if (before && !now) write('DELETED', e.object);
      } else if (now) {
        write(e.type, e.object);
      }
    };
    const rvParam = q.get('resourceVersion');
    const initialEvents = q.get('sendInitialEvents') === 'true';
    try {
      if (initialEvents) {
        // Streaming list (WatchList): the current state as ADDED, then a bookmark marking its end.
        for (const o of store.peek(t, filter)) write('ADDED', o);
        write('BOOKMARK', {
          kind: t.kind,
          apiVersion: groupVersion(t),
          metadata: {
            resourceVersion: store.resourceVersion,
            annotations: { 'k8s.io/initial-events-end': 'true' },
          },
        });
      } else if (rvParam && rvParam !== '0') {
        const from = Number(rvParam);
        if (!Number.isFinite(from)) throw badRequest(`invalid resource version: ${rvParam}`);
        for (const e of store.eventsSince(t, from)) deliver(e);
      } else {
        for (const o of store.peek(t, filter)) write('ADDED', o);
      }
    } catch (err) {
      if (err instanceof ApiError) {
        write('ERROR', err.toStatus());
        openWatches.delete(res);
        res.end();
        return;
      }
      throw err;
    }
    const unsubscribe = store.subscribe(deliver);
    const timeoutS = Number(q.get('timeoutSeconds') ?? DEFAULT_WATCH_TIMEOUT_S) || DEFAULT_WATCH_TIMEOUT_S;
    const bookmarks =
      q.get('allowWatchBookmarks') === 'true'
        ? setInterval(() => {
            write('BOOKMARK', {
              kind: t.kind,
              apiVersion: groupVersion(t),
              metadata: { resourceVersion: store.resourceVersion },
            });
          }, bookmarkMs)
        : undefined;
    const timeout = setTimeout(() => res.end(), timeoutS * 1000);
    const cleanup = (): void => {
      unsubscribe();
      if (bookmarks) clearInterval(bookmarks);
      clearTimeout(timeout);
      openWatches.delete(res);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/openapi/v3') return send(res, 200, openApiV3Index());
    if (url.pathname.startsWith('/openapi/v3/')) {
      const parts = url.pathname.slice('/openapi/v3/'.length).split('/');
      const doc =
        parts[0] === 'api'
          ? openApiV3Document('', parts[1] ?? '')
          : openApiV3Document(parts[1] ?? '', parts[2] ?? '');
      return doc ? send(res, 200, doc) : send(res, 404, notFoundPage(url.pathname));
    }
    const r = route(url.pathname);
    const method = req.method ?? 'GET';
    switch (r.type) {
      case 'version':
        return send(res, 200, SERVER_VERSION);
      case 'api':
        return send(res, 200, coreVersions(serverAddress));
      case 'apis':
        return send(res, 200, apiGroupList());
      case 'group': {
        const g = apiGroup(r.group);
        return g ? send(res, 200, g) : send(res, 404, notFoundPage(url.pathname));
      }
      case 'groupVersion': {
        const list = apiResourceList(r.group, r.version);
        return list ? send(res, 200, list) : send(res, 404, notFoundPage(url.pathname));
      }
      case 'notFound':
        return send(res, 404, notFoundPage(url.pathname));
    }
    const received = now();
    const { user, groups } = userOf(req);
    const audit: { code: number; verb: string; requestObject?: unknown } = {
      code: 500,
      verb: method.toLowerCase(),
    };
    try {
      await handleResource(req, res, r, url.searchParams, audit);
    } catch (err) {
      const apiErr =
        err instanceof ApiError
          ? err
          : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      if (!(err instanceof ApiError)) logger.error({ err, path: url.pathname }, 'sim api handler failed');
      if (apiErr.code === 404 && !apiErr.message) {
        send(res, 404, notFoundPage(url.pathname));
      } else if (!res.headersSent) {
        audit.code = apiErr.code;
        send(res, apiErr.code, apiErr.toStatus());
      } else {
        res.end();
      }
    }
    if (hooks.audit && (MUTATING.has(method) || r.subresource === 'exec')) {
      const objectRef: AuditRecord['objectRef'] = {
        resource: r.resource.plural,
        apiGroup: r.resource.group,
        apiVersion: r.resource.version,
      };
      if (r.namespace) objectRef.namespace = r.namespace;
      if (r.name) objectRef.name = r.name;
      if (r.subresource) objectRef.subresource = r.subresource;
      const record: AuditRecord = {
        verb: audit.verb,
        requestURI: req.url ?? '',
        user,
        groups,
        userAgent: req.headers['user-agent'] ?? '',
        sourceIP: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        objectRef,
        code: audit.code,
        receivedMs: received,
        completedMs: now(),
      };
      if (audit.requestObject !== undefined) record.requestObject = audit.requestObject;
      hooks.audit(record);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'sim api request failed');
      if (!res.headersSent) send(res, 500, new ApiError(500, 'InternalError', String(err)).toStatus());
      else res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  serverAddress = `${addr.address}:${addr.port}`;
  const url = `http://${addr.address}:${addr.port}`;
  logger.debug({ url }, 'sim api serving');
  return {
    url,
    port: addr.port,
    dropWatches: () => {
      const n = openWatches.size;
      for (const w of [...openWatches]) w.end();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of openWatches) w.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function withoutType(scale: Record<string, unknown>): Record<string, unknown> {
  const { _type: _, ...rest } = scale;
  return rest;
}

function notFoundPage(path: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `the server could not find the requested resource`,
    reason: 'NotFound',
    details: { causes: [{ reason: 'UnexpectedServerResponse', message: `404 page not found: ${path}` }] },
    code: 404,
  };
}
