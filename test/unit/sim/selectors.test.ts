import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../sim/api/errors.ts';
import {
  checkFieldSelector,
  fromSpecSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../../../sim/api/selectors.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };

  it('matches equality, inequality and existence requirements', () => {
    expect(matchesLabels(parseLabelSelector('app=web,tier==front'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app!=web'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('app!=db'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('env'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('!env'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('missing!=x'), labels)).toBe(true);
  });

  it('matches set-based requirements with spaces and commas inside parentheses', () => {
    expect(matchesLabels(parseLabelSelector('env in (prod, staging),tier notin (back)'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('env in (staging,dev)'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('env notin (prod)'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('absent notin (x)'), labels)).toBe(true);
  });

  it('rejects malformed selectors with a 400', () => {
    expect(() => parseLabelSelector('app=(web')).toThrow(ApiError);
    try {
      parseLabelSelector('a b c');
    } catch (err) {
      expect((err as ApiError).code).toBe(400);
    }
  });

  it('converts spec selectors with matchExpressions', () => {
    const reqs = fromSpecSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    });
    expect(matchesLabels(reqs, labels)).toBe(true);
    expect(matchesLabels(reqs, { ...labels, canary: 'yes' })).toBe(false);
  });
});

describe('field selectors', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'shop' },
    spec: { nodeName: 'node-1' },
    status: { phase: 'Running' },
  };

  it('matches indexed pod fields and negations', () => {
    expect(matchesFields(parseFieldSelector('spec.nodeName=node-1,status.phase!=Failed'), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName=node-2'), pod)).toBe(false);
    expect(matchesFields(parseFieldSelector('metadata.name=p,metadata.namespace=shop'), pod)).toBe(true);
  });

  it('treats an empty value as matching an unset field, as the API server does', () => {
    expect(matchesFields(parseFieldSelector('spec.nodeName='), { metadata: {}, spec: {} })).toBe(true);
  });

  it('refuses fields the server does not index with the real message', () => {
    expect(() => checkFieldSelector('Pod', parseFieldSelector('spec.hostname=x'))).toThrow(
      'field label not supported: spec.hostname',
    );
    expect(() => checkFieldSelector('Pod', parseFieldSelector('spec.nodeName=x'))).not.toThrow();
  });
});
