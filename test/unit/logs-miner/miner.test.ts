import { describe, expect, it } from 'vitest';
import { type MinerSnapshot, OVERFLOW_TEMPLATE_ID, TemplateMiner } from '../../../agent/detect/logs/miner.ts';

function mine(miner: TemplateMiner, lines: string[]): string[] {
  return lines.map((l) => miner.add(l).templateId).map((id) => miner.resolve(id));
}

describe('TemplateMiner', () => {
  it('groups lines that differ only in variables and generalises the template', () => {
    const m = new TemplateMiner();
    const ids = mine(m, [
      'Accepted password for alice from 10.0.0.1 port 22 ssh2',
      'Accepted password for bob from 10.0.0.2 port 2222 ssh2',
      'Connection closed by 10.0.0.3 port 40000',
    ]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    // `22 ssh2` is one run of variables, so it folds into one `<*>`.
    expect(m.templateOf(ids[0]!)).toBe('Accepted password for <*> from <*> port <*>');
  });

  it('reports isNew only for the line that created a template', () => {
    const m = new TemplateMiner();
    expect(m.add('worker started in 5 ms').isNew).toBe(true);
    expect(m.add('worker started in 7 ms').isNew).toBe(false);
  });

  it('keeps SCREAMING_CASE states apart', () => {
    const m = new TemplateMiner();
    const ids = mine(m, [
      'task 1 Transitioned from NEW to SCHEDULED',
      'task 2 Transitioned from SCHEDULED to RUNNING',
    ]);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('does not blur an established template with a differing line, but merges many distinct words', () => {
    const m = new TemplateMiner();
    const established = mine(
      m,
      Array.from({ length: 20 }, (_, i) => `Received disconnect from 10.0.0.${i}: Bye Bye`),
    );
    const other = m.add('Received disconnect from 10.0.0.9: by user').templateId;
    expect(other).not.toBe(established[0]);
    // Once a position shows many distinct words across siblings, they are one template with a variable.
    const users = mine(
      m,
      ['alice', 'bob', 'carol', 'dave', 'erin'].flatMap((u) =>
        Array.from({ length: 12 }, (_, i) => `Failed password for ${u} from 10.1.0.${i}`),
      ),
    );
    expect(new Set(users).size).toBe(1);
    expect(m.templateOf(users[0]!)).toBe('Failed password for <*> from <*>');
  });

  it('merges variants whose variable word is among the leading (routing) tokens', () => {
    const m = new TemplateMiner();
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'bob'];
    const ids = mine(
      m,
      users.map((u) => `user ${u} logged in from the console`),
    );
    expect(new Set(ids.slice(3)).size).toBe(1);
    expect(m.templateOf(ids[5]!)).toBe('user <*> logged in from the console');
    // A one-word template with a variable is not evidence that its first word is a variable.
    const short = mine(m, ['Launching a1', 'Starting b2', 'Stopping c3', 'Killing d4']);
    expect(new Set(short).size).toBe(4);
    // The merged template survives a restore in every leaf it was registered in.
    const restored = TemplateMiner.restore(JSON.parse(JSON.stringify(m.snapshot())) as MinerSnapshot);
    expect(restored.add('user carol logged in from the console').templateId).toBe(ids[5]);
    expect(restored.add('user frank logged in from the console').templateId).toBe(ids[5]);
  });

  it('keeps template ids stable across snapshot and restore', () => {
    const lines = [
      'GET /api/users/1 200 3ms',
      'GET /api/users/2 200 5ms',
      'db connection refused to 10.0.0.5:5432',
      'cache miss for key user:42',
    ];
    const a = new TemplateMiner();
    const before = mine(a, lines);
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as MinerSnapshot;
    const b = TemplateMiner.restore(snap);
    const later = ['GET /api/orders/9 404 1ms', 'db connection refused to 10.0.0.6:5432', 'a brand new line'];
    const fromRestored = mine(b, later);
    const fromOriginal = mine(a, later);
    expect(fromRestored).toEqual(fromOriginal);
    expect(fromRestored[1]).toBe(before[2]);
    expect(b.snapshot()).toEqual(a.snapshot());
  });

  it('restores a snapshot whose templates carry no routes by re-routing their text', () => {
    const a = new TemplateMiner();
    const ids = mine(a, ['disk sda1 is 91% full', 'worker pool resized to 8']);
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as MinerSnapshot;
    for (const t of snap.templates) delete (t as Partial<typeof t>).routes;
    const b = TemplateMiner.restore(snap);
    expect(mine(b, ['disk sda2 is 95% full', 'worker pool resized to 16'])).toEqual(ids);
  });

  it('assigns ids deterministically', () => {
    const lines = ['a 1', 'b c 2', 'a 3', 'd e f'];
    expect(mine(new TemplateMiner(), lines)).toEqual(mine(new TemplateMiner(), lines));
  });

  it('caps the number of templates and counts the overflow', () => {
    const m = new TemplateMiner({ maxTemplates: 3 });
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    const ids = words.map((w, i) => m.add(`${w} ${'x '.repeat(i)}end`).templateId);
    expect(ids.slice(0, 3).every((id) => id !== OVERFLOW_TEMPLATE_ID)).toBe(true);
    expect(ids.slice(3)).toEqual([OVERFLOW_TEMPLATE_ID, OVERFLOW_TEMPLATE_ID]);
    expect(m.stats()).toMatchObject({ templates: 3, overflow: 2 });
    // Lines of known templates still match when the miner is full.
    expect(m.add('alpha end').templateId).toBe(ids[0]);
  });

  it('bounds the templates of one tree leaf, counting the rest as overflow', () => {
    const m = new TemplateMiner({ maxLeafTemplates: 2 });
    const rest = ['alpha bravo charlie', 'delta echo foxtrot', 'golf hotel india'];
    const ids = rest.map((w) => m.add(`job runs ${w}`).templateId);
    expect(ids[2]).toBe(OVERFLOW_TEMPLATE_ID);
    expect(m.add('other shape of line here').templateId).not.toBe(OVERFLOW_TEMPLATE_ID);
  });

  it('rejects invalid options with the option path in the message', () => {
    expect(() => new TemplateMiner({ similarity: 0 })).toThrow(/options.similarity/);
    expect(() => new TemplateMiner({ maxTemplates: 0 })).toThrow(/options.maxTemplates/);
  });

  it('handles empty lines as their own template', () => {
    const m = new TemplateMiner();
    const a = m.add('');
    const b = m.add('   ');
    expect(a.templateId).toBe(b.templateId);
    expect(a.template).toBe('');
  });
});
