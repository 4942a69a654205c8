import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shippedNodeOptions } from '../../../src/bench/load/processes.js';

describe('shippedNodeOptions', () => {
  it("reads the image's NODE_OPTIONS from the Dockerfile, bounding the heap", () => {
    expect(shippedNodeOptions()).toContainEqual(expect.stringMatching(/^--max-old-space-size=\d+$/));
  });

  it('reads quoted and bare values, and nothing when the Dockerfile sets none', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-dockerfile-'));
    const file = (text: string) => {
      const f = path.join(dir, `Dockerfile-${Math.random()}`);
      writeFileSync(f, text);
      return f;
    };
    expect(shippedNodeOptions(file('FROM x\nENV NODE_OPTIONS="--a=1 --b"\n'))).toEqual(['--a=1', '--b']);
    expect(shippedNodeOptions(file('FROM x\nENV NODE_OPTIONS=--a=1\n'))).toEqual(['--a=1']);
    expect(shippedNodeOptions(file('FROM x\nENV NODE_ENV=production\n'))).toEqual([]);
    expect(shippedNodeOptions(path.join(dir, 'missing'))).toEqual([]);
  });
});
