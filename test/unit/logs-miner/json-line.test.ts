import { describe, expect, it } from 'vitest';
import { flattenJsonLine } from '../../../agent/detect/logs/json-line.ts';
import { TemplateMiner } from '../../../agent/detect/logs/miner.ts';

describe('JSON log lines', () => {
  it('puts the message first and the other fields as key=value in line order', () => {
    expect(flattenJsonLine('{"level":"info","msg":"started server","port":8080,"tags":["a"]}')).toBe(
      'started server level=info port=8080 tags=<*>',
    );
    expect(flattenJsonLine('{"message":"x","note":"two words"}')).toBe('x note="two words"');
  });

  it('leaves lines that are not a JSON object unchanged', () => {
    for (const line of ['{not json', '[1,2]', 'plain text {"a":1}', ''])
      expect(flattenJsonLine(line)).toBe(line);
  });

  it('groups JSON lines by message and fields, not by their values', () => {
    const m = new TemplateMiner();
    const a = m.add('{"level":"info","ts":1714567890.1,"msg":"request done","status":200,"path":"/a"}');
    const b = m.add('{"level":"info","ts":1714567891.2,"msg":"request done","status":404,"path":"/b"}');
    const c = m.add('{"level":"error","ts":1714567892.3,"msg":"connection refused","host":"db-0.db.svc"}');
    expect(b.templateId).toBe(a.templateId);
    expect(c.templateId).not.toBe(a.templateId);
    expect(m.templateOf(a.templateId)).toBe('request done level=info ts=<*> status=<*> path=<*>');
  });
});
