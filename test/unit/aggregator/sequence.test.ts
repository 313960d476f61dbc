import { describe, expect, it } from 'vitest';
import { judgeSequence, MAX_EXPLAINED_GAP } from '../../../aggregator/state/sequence.ts';

describe('judgeSequence', () => {
  it('accepts the next sequence', () => {
    expect(judgeSequence(10, 11, 0)).toEqual({ kind: 'accept', gap: 0 });
  });
  it('accepts any start for a node it holds nothing for', () => {
    expect(judgeSequence(undefined, 5000, 0)).toEqual({ kind: 'accept', gap: 0 });
  });
  it('calls a replayed sequence a duplicate', () => {
    expect(judgeSequence(10, 10, 0).kind).toBe('duplicate');
    expect(judgeSequence(10, 3, 0).kind).toBe('duplicate');
  });
  it('accepts a jump the agent explains with its drops', () => {
    expect(judgeSequence(10, 21, 10)).toEqual({ kind: 'accept', gap: 10 });
  });
  it('refuses a jump into the future that no drop explains', () => {
    const v = judgeSequence(10, 1_000_000, 0);
    expect(v.kind).toBe('invalid');
    expect(v.kind === 'invalid' && v.reason).toMatch(/jumps 999989 past the last stored 10/);
  });
  it('refuses nonsense numbers', () => {
    expect(judgeSequence(10, 0, 0).kind).toBe('invalid');
    expect(judgeSequence(10, 2 ** 60, 0).kind).toBe('invalid');
    expect(judgeSequence(10, 12, MAX_EXPLAINED_GAP + 1).kind).toBe('invalid');
  });
});
