// Strict structural validation of rendered manifests against the Kubernetes API types, offline. kubectl's
// --validate=strict needs an API server for the OpenAPI document; @kubernetes/client-node ships the same types
// generated from that OpenAPI (attributeTypeMap per model), which is enough to catch unknown or misplaced
// fields and wrong JSON types (a number where the API wants a string, as in an unquoted env value).
import * as k8s from '@kubernetes/client-node';

type Attribute = { baseName: string; type: string; format: string };
type Model = { attributeTypeMap: Attribute[] };

const models = k8s as unknown as Record<string, Model | undefined>;

// Built-in kinds in the groups the chart uses; CRDs (ServiceMonitor) are not in the client's models.
const builtinGroups = new Set([
  'v1',
  'apps/v1',
  'rbac.authorization.k8s.io/v1',
  'networking.k8s.io/v1',
  'policy/v1',
]);

export function modelNameFor(apiVersion: string, kind: string): string | undefined {
  return builtinGroups.has(apiVersion) ? `V1${kind}` : undefined;
}

function jsonType(value: unknown): string {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

function check(value: unknown, type: string, format: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) errors.push(`${path}: expected array, got ${jsonType(value)}`);
    else
      for (const [i, item] of value.entries()) check(item, array[1] as string, '', `${path}[${i}]`, errors);
  } else if (map) {
    if (typeof value !== 'object' || Array.isArray(value))
      errors.push(`${path}: expected map, got ${jsonType(value)}`);
    else for (const [k, v] of Object.entries(value)) check(v, map[1] as string, '', `${path}.${k}`, errors);
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') errors.push(`${path}: expected string, got ${jsonType(value)}`);
  } else if (type === 'number') {
    const integer = format === 'int32' || format === 'int64';
    if (typeof value !== 'number' || (integer && !Number.isInteger(value)))
      errors.push(`${path}: expected ${integer ? 'integer' : 'number'}, got ${jsonType(value)}`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') errors.push(`${path}: expected boolean, got ${jsonType(value)}`);
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && !Number.isInteger(value)) errors.push(`${path}: expected int or string`);
  } else if (type === 'any' || type === 'object') {
    // Free-form in the API.
  } else {
    const model = models[type];
    if (!model?.attributeTypeMap) {
      errors.push(`${path}: no model ${type} in @kubernetes/client-node`);
      return;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push(`${path}: expected object ${type}, got ${jsonType(value)}`);
      return;
    }
    const attributes = new Map(model.attributeTypeMap.map((a) => [a.baseName, a]));
    for (const [key, child] of Object.entries(value)) {
      const attribute = attributes.get(key);
      if (!attribute) errors.push(`${path}.${key}: unknown field in ${type}`);
      else check(child, attribute.type, attribute.format, `${path}.${key}`, errors);
    }
  }
}

// Problems found in one manifest, each as "<path>: <problem>"; undefined when its kind has no built-in model.
export function validateManifest(manifest: { apiVersion: string; kind: string }): string[] | undefined {
  const modelName = modelNameFor(manifest.apiVersion, manifest.kind);
  if (modelName === undefined) return undefined;
  const errors: string[] = [];
  check(manifest, modelName, '', manifest.kind, errors);
  return errors;
}
