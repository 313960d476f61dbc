import { describe, expect, it } from 'vitest';
import { type ConditionContext, compileCondition } from '../../../agent/detect/security/condition.ts';
import { parseFieldPath, resolveField } from '../../../agent/detect/security/field-path.ts';

const ctx: ConditionContext = {
  lists: new Map([
    ['shells', ['sh', 'bash']],
    ['more', ['zsh']],
  ]),
  macros: new Map<string, unknown>([
    ['is_create', { field: 'verb', equals: 'create' }],
    ['loop_a', { macro: 'loop_b' }],
    ['loop_b', { macro: 'loop_a' }],
  ]),
};

const event = {
  verb: 'create',
  code: 201,
  user: { username: 'Alice' },
  annotations: { 'authorization.k8s.io/decision': 'allow' },
  spec: { containers: [{ image: 'nginx', securityContext: { privileged: true } }, { image: 'redis' }] },
  data: { DB_PASSWORD: 'x' },
};

describe('field paths', () => {
  it('fans out over arrays and reads quoted keys', () => {
    expect(resolveField(event, parseFieldPath('spec.containers[*].image'))).toEqual(['nginx', 'redis']);
    expect(resolveField(event, parseFieldPath('annotations["authorization.k8s.io/decision"]'))).toEqual([
      'allow',
    ]);
    expect(resolveField(event, parseFieldPath('spec.containers[1].image'))).toEqual(['redis']);
    expect(resolveField(event, parseFieldPath('spec.missing.deeper'))).toEqual([]);
  });

  it('rejects malformed paths', () => {
    expect(() => parseFieldPath('a..b')).toThrow(/invalid field path/);
    expect(() => parseFieldPath('a[')).toThrow(/unclosed/);
  });
});

describe('conditions', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['equals string', { field: 'verb', equals: 'create' }, true],
    ['equals number as text', { field: 'code', equals: '201' }, true],
    ['startswith on a number', { field: 'code', startswith: '2' }, true],
    ['in with spliced list', { field: 'verb', in: ['$shells', 'create'] }, true],
    ['in list name', { field: 'verb', in: '$shells' }, false],
    [
      'any element of an array',
      { field: 'spec.containers[*].securityContext.privileged', equals: true },
      true,
    ],
    ['contains on an object, nocase', { field: 'data', contains: 'password', nocase: true }, true],
    ['contains is case-sensitive by default', { field: 'data', contains: 'password' }, false],
    ['regex', { field: 'user.username', regex: '^al', nocase: true }, true],
    ['exists false', { field: 'spec.hostNetwork', exists: false }, true],
    ['gt', { field: 'code', gt: 200 }, true],
    ['not', { not: { field: 'verb', equals: 'create' } }, false],
    ['all', { all: [{ macro: 'is_create' }, { field: 'code', lt: 300 }] }, true],
    [
      'any',
      {
        any: [
          { field: 'verb', equals: 'get' },
          { field: 'verb', equals: 'list' },
        ],
      },
      false,
    ],
    ['endswith list', { field: 'user.username', endswith: ['ice', 'bob'] }, true],
  ];
  it.each(cases)('%s', (_name, node, expected) => {
    expect(compileCondition(node, ctx)(event)).toBe(expected);
  });

  const errors: Array<[string, unknown, RegExp]> = [
    ['unknown operator', { field: 'verb', equal: 'x' }, /unknown operator 'equal'/],
    ['two operators', { field: 'verb', equals: 'x', in: ['y'] }, /exactly one operator/],
    ['unknown macro', { macro: 'nope' }, /unknown macro 'nope'/],
    ['macro cycle', { macro: 'loop_a' }, /macro cycle loop_a -> loop_b -> loop_a/],
    ['unknown list', { field: 'verb', in: '$missing' }, /unknown list '\$missing'/],
    ['bad regex', { field: 'verb', regex: '(' }, /bad regular expression/],
    ['empty all', { all: [] }, /non-empty list/],
    ['not an object', 'verb == create', /expected an object/],
    ['bad path', { field: 'a..b', exists: true }, /condition.field: invalid field path/],
    [
      'nested position',
      { all: [{ field: 'verb', equals: 'x' }, { fild: 'x' }] },
      /condition\.all\[1\]: unknown node/,
    ],
  ];
  it.each(errors)('rejects %s with where and why', (_name, node, message) => {
    expect(() => compileCondition(node, ctx)).toThrow(message);
  });
});
