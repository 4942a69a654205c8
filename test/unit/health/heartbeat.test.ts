import { describe, expect, it } from 'vitest';
import { parseHeartbeat } from '../../../src/fleet/health/heartbeat.js';
import { HEARTBEAT_JSON, heartbeatJson } from './samples.js';

function parsed(text: string) {
  const result = parseHeartbeat(text);
  if (!result.ok) throw new Error(`expected ok, got: ${result.error}`);
  return result.heartbeat;
}

describe('parseHeartbeat', () => {
  it('reads the trainer heartbeat of DESIGN.md field by field', () => {
    expect(parsed(HEARTBEAT_JSON)).toEqual({
      step: 12340,
      loss: 3.1234,
      ppl: 22.7,
      tok_s: 48211,
      gpu_util: 97,
      disk_pct: 41.3,
      ts: 1767225600,
      pid: 4242,
      max_steps: 50000,
      model: 'mosaic_moe',
      lossIsNaN: false,
    });
  });

  it.each([
    ['NaN', true],
    ['Infinity', true],
    ['-Infinity', true],
  ])('accepts a bare %s loss token and flags it', (token, flagged) => {
    const hb = parsed(heartbeatJson({ loss: token }));
    expect(hb.loss).toBeNull();
    expect(hb.lossIsNaN).toBe(flagged);
    expect(hb.step).toBe(12340);
  });

  it('nulls other non-finite fields without flagging the loss', () => {
    const hb = parsed(heartbeatJson({ ppl: 'Infinity', tok_s: 'NaN' }));
    expect(hb).toMatchObject({ loss: 3.1234, ppl: null, tok_s: null, lossIsNaN: false });
  });

  it('accepts tokens without spaces and at the end of the object', () => {
    const hb = parsed('{"step":7,"ts":1767225600,"ppl":-Infinity,"loss":NaN}');
    expect(hb).toMatchObject({ step: 7, loss: null, ppl: null, lossIsNaN: true });
  });

  it.each([
    ['a bare word', '"NaN"'],
    ['tokens in prose', '"loss NaN at Infinity and -Infinity"'],
    ['an escaped quote before the token', String.raw`"say \"NaN\" twice"`],
    ['a backslash at the end', String.raw`"dir\\"`],
    ['a look-alike of the internal sentinel', '"\u2063nonfiniteNaN"'],
  ])('never alters NaN inside a string (%s)', (_label, literal) => {
    const text = `{"step": 1, "ts": 1767225600, "loss": NaN, "model": ${literal}}`;
    const hb = parsed(text);
    expect(hb.model).toBe(JSON.parse(literal));
    expect(hb.lossIsNaN).toBe(true);
  });

  it('leaves missing optional fields null but requires step and ts', () => {
    expect(parsed('{"step": 3, "ts": 1767225600}')).toMatchObject({ loss: null, tok_s: null, pid: null });
    const noStep = parseHeartbeat('{"global_step": 3, "ts": 1767225600}');
    expect(noStep).toEqual({ ok: false, error: expect.stringContaining('step') });
    const noTs = parseHeartbeat('{"step": 3}');
    expect(noTs).toEqual({ ok: false, error: expect.stringContaining('ts') });
  });

  const garbage: [string, string, RegExp][] = [
    ['empty file', '', /empty/],
    ['whitespace only', '  \n', /empty/],
    ['truncated mid-write', HEARTBEAT_JSON.slice(0, 57), /not valid JSON/],
    ['truncated after a NaN token', '{"step": 12340, "loss": NaN', /not valid JSON/],
    ['binary bytes', '\u0000\u0001\u00ff\u0007PK\u0003\u0004', /binary/],
    ['bytes that were not UTF-8', `{"step": 1\ufffd\ufffd}`, /binary/],
    ['a JSON array', '[12340, 3.12]', /not a JSON object/],
    ['JSON null', 'null', /not a JSON object/],
    ['a bare NaN', 'NaN', /not a JSON object/],
    ['step as a string', '{"step": "12340", "ts": 1767225600}', /step/],
    ['a NaN step', '{"step": NaN, "ts": 1767225600}', /step/],
    ['a negative step', '{"step": -5, "ts": 1767225600}', /step/],
    ['a huge file', `{"step": 1, "ts": 2, "pad": "${'x'.repeat(70_000)}"}`, /over/],
    ['NaN glued to a word', '{"step": 1, "ts": 2, "loss": NaNx}', /not valid JSON/],
  ];

  it.each(garbage)('returns an error, never throws, for %s', (_label, text, message) => {
    let result: ReturnType<typeof parseHeartbeat> | undefined;
    expect(() => {
      result = parseHeartbeat(text);
    }).not.toThrow();
    expect(result?.ok).toBe(false);
    if (result && !result.ok) expect(result.error).toMatch(message);
  });
});
