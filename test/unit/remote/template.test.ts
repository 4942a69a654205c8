import { describe, expect, it } from 'vitest';
import {
  CommandTemplate,
  cmd,
  joinTemplates,
  list,
  readQuotedWord,
  word,
} from '../../../src/fleet/remote/template.js';

describe('command templates', () => {
  const cat = cmd`cat ${word('path')}`;
  const rm = cmd`rm -f ${list('files')}`;
  const run = cmd`cd ${word('dir')} || exit 1; nohup ${list('argv')} > ${word('log')} 2>&1 & echo $!`;

  it('quotes every value into exactly one shell word', () => {
    expect(cat.render({ path: '/a/b.json' })).toBe('cat /a/b.json');
    expect(cat.render({ path: "/x'; rm -rf / #" })).toBe(`cat '/x'\\''; rm -rf / #'`);
    expect(rm.render({ files: ['/a', 'b c'] })).toBe("rm -f /a 'b c'");
  });

  it('keeps literal text raw, backslashes included', () => {
    expect(cmd`printf '%s\n' ${word('x')}`.render({ x: 'y' })).toBe("printf '%s\\n' y");
  });

  it('recognises what it rendered and gives back the values', () => {
    for (const path of ['/a/b.json', "/x'; rm -rf / #", '', "'", 'a b\tc']) {
      expect(cat.match(cat.render({ path }))).toEqual({ path });
    }
    const values = { dir: '/w s', argv: ['torchrun', '--x=1', "it's", 'a > b'], log: '/l.log' };
    expect(run.match(run.render(values))).toEqual(values);
    expect(rm.match(rm.render({ files: ['/a', '/b'] }))).toEqual({ files: ['/a', '/b'] });
  });

  it('does not recognise look-alikes it would not have rendered', () => {
    expect(cat.match('cat  /a')).toBeNull();
    expect(cat.match('cat "/a"')).toBeNull();
    expect(cat.match("cat '/a'")).toBeNull();
    expect(cat.match('cat /a; rm -rf /')).toBeNull();
    expect(cat.match('cat /a /b')).toBeNull();
    expect(rm.match('rm -f /a  /b')).toBeNull();
    expect(run.match('cd /w && nohup x > /l.log 2>&1 & echo $!')).toBeNull();
  });

  it('requires a repeated hole to hold the same value', () => {
    const twice = cmd`cat ${word('f')} && chmod 600 ${word('f')}`;
    expect(twice.render({ f: '/a' })).toBe('cat /a && chmod 600 /a');
    expect(twice.match('cat /a && chmod 600 /a')).toEqual({ f: '/a' });
    expect(twice.match('cat /a && chmod 600 /b')).toBeNull();
  });

  it('refuses two holes with nothing between them', () => {
    expect(() => new CommandTemplate([word('a'), word('b')])).toThrow(/literal text between/);
  });

  it('joins templates into one', () => {
    const joined = joinTemplates<{ path: string; files: readonly string[] }>([cat, '; ', rm]);
    const line = joined.render({ path: '/p', files: ['/a'] });
    expect(line).toBe('cat /p; rm -f /a');
    expect(joined.match(line)).toEqual({ path: '/p', files: ['/a'] });
  });

  it('reads quoted words the way shellQuote writes them', () => {
    expect(readQuotedWord(`'a'\\''b' rest`, 0)).toEqual({ value: "a'b", end: 8 });
    expect(readQuotedWord('plain/x.y rest', 0)).toEqual({ value: 'plain/x.y', end: 9 });
    expect(readQuotedWord("'unterminated", 0)).toBeNull();
    expect(readQuotedWord(' x', 0)).toBeNull();
  });
});
