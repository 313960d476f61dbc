// Maps a request path to (resource type, namespace, name, subresource, watch), the way the API server's
// installer lays out paths: /api/v1/..., /apis/<group>/<version>/..., optional /watch/ prefix.
import { findResource, type ResourceType } from './resources.ts';

export interface ResourceRoute {
  type: 'resource';
  resource: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Path used the legacy `/watch/` prefix. */
  watchPath: boolean;
}

export type Route =
  | ResourceRoute
  | { type: 'version' }
  | { type: 'api' }
  | { type: 'apis' }
  | { type: 'group'; group: string }
  | { type: 'groupVersion'; group: string; version: string }
  | { type: 'notFound' };

export function route(pathname: string): Route {
  const segs = pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map(decodeURIComponent);
  if (segs[0] === 'version' && segs.length === 1) return { type: 'version' };
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { type: 'api' };
    group = '';
    version = segs[1] ?? '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { type: 'apis' };
    group = segs[1] ?? '';
    if (segs.length === 2) return { type: 'group', group };
    version = segs[2] ?? '';
    rest = segs.slice(3);
  } else {
    return { type: 'notFound' };
  }
  if (rest.length === 0) return { type: 'groupVersion', group, version };
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // /namespaces/<ns>/<plural>... is a namespaced path unless <plural> is a subresource of namespaces.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const candidate = findResource(group, version, rest[2] ?? '');
    if (candidate?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const resource = findResource(group, version, rest[0] ?? '');
  if (!resource || rest.length > 3) return { type: 'notFound' };
  const r: ResourceRoute = { type: 'resource', resource, watchPath };
  if (namespace !== undefined) r.namespace = namespace;
  if (rest[1] !== undefined) r.name = rest[1];
  if (rest[2] !== undefined) r.subresource = rest[2];
  return r;
}
