import { describe, expect, it } from 'vitest';
import {
  parseCheckpointList,
  parseConfigExperts,
  parseDf,
  parseEpochSeconds,
  parseLaunchPid,
  parseNvidiaSmi,
  parseProbeOutput,
  probeOutputComplete,
} from '../../../src/fleet/remote/index.js';

const HEARTBEAT =
  '{"step": 12340, "loss": 3.1234, "ppl": 22.7, "tok_s": 48211.0, "gpu_util": 97, "disk_pct": 41.3, "ts": 1767225600, "pid": 4242, "max_steps": 50000, "model": "mosaic_moe"}';

function section(part: string, output: string, code: number): string {
  return `__TC_PART__ ${part}\n${output}\n__TC_RC__ ${part} ${code}\n`;
}

const FULL = [
  section('time', '1767225630\n', 0),
  section('heartbeat', HEARTBEAT, 0),
  section('alive', '4242\n4243\n', 0),
  section('gpu', '0, 97, 20398, 24576, 68\n1, 96, 20405, 24576, 69\n', 0),
  section(
    'disk',
    'Filesystem     1024-blocks     Used Available Capacity Mounted on\noverlay          97656250 40000000  57656250      41% /\n',
    0,
  ),
  section(
    'checkpoints',
    'latest.pt 4200000000\nstep_5000.pt 4200000000\nbest.pt 4200000000\nstep_2500.pt 4200000000\n',
    0,
  ),
  section('log', 'step  12330/50000 | loss 3.1 | ppl 22.2\nstep  12340/50000 | loss 3.1234 | ppl 22.7\n', 0),
  section('log_mtime', '1767225611\n', 0),
  '__TC_END__\n',
].join('');

describe('parseProbeOutput', () => {
  it('reads every part of a complete probe', () => {
    const p = parseProbeOutput(FULL);
    expect(probeOutputComplete(FULL)).toBe(true);
    expect(p.hostTime).toBe(1767225630);
    expect(p.heartbeat).toMatchObject({ step: 12340, loss: 3.1234, ts: 1767225600, model: 'mosaic_moe' });
    expect(p.heartbeatError).toBeNull();
    expect(p.processAlive).toBe(true);
    expect(p.gpus).toEqual([
      { index: 0, utilPct: 97, memUsedMb: 20398, memTotalMb: 24576, tempC: 68 },
      { index: 1, utilPct: 96, memUsedMb: 20405, memTotalMb: 24576, tempC: 69 },
    ]);
    expect(p.disk).toEqual({ usedPct: 41, availBytes: 57656250 * 1024, totalBytes: 97656250 * 1024 });
    expect(p.checkpoints.map((c) => c.name)).toEqual([
      'step_2500.pt',
      'step_5000.pt',
      'best.pt',
      'latest.pt',
    ]);
    expect(p.checkpoints[0]).toEqual({ name: 'step_2500.pt', bytes: 4200000000, step: 2500 });
    expect(p.logTail).toEqual([
      'step  12330/50000 | loss 3.1 | ppl 22.2',
      'step  12340/50000 | loss 3.1234 | ppl 22.7',
    ]);
    expect(p.logMtime).toBe(1767225611);
    expect(p.exitCodes).toEqual({
      time: 0,
      heartbeat: 0,
      alive: 0,
      gpu: 0,
      disk: 0,
      checkpoints: 0,
      log: 0,
      log_mtime: 0,
    });
  });

  it('reads a heartbeat with a bare NaN loss', () => {
    const nan = FULL.replace('"loss": 3.1234, "ppl": 22.7', '"loss": NaN, "ppl": NaN');
    const p = parseProbeOutput(nan);
    expect(p.heartbeat?.step).toBe(12340);
    expect(p.heartbeat?.lossIsNaN).toBe(true);
  });

  it('keeps what it can from a probe cut off halfway', () => {
    const cut = FULL.slice(0, FULL.indexOf('__TC_PART__ disk') + 30);
    expect(probeOutputComplete(cut)).toBe(false);
    const p = parseProbeOutput(cut);
    expect(p.hostTime).toBe(1767225630);
    expect(p.heartbeat?.step).toBe(12340);
    expect(p.gpus).toHaveLength(2);
    expect(p.disk).toBeNull();
    expect(p.checkpoints).toEqual([]);
    expect(p.logTail).toEqual([]);
    expect(p.logMtime).toBeNull();
    expect(Object.keys(p.exitCodes)).toEqual(['time', 'heartbeat', 'alive', 'gpu']);
  });

  it('reports why the heartbeat is missing or unreadable, and a dead or unknown trainer', () => {
    const missing = parseProbeOutput(
      section('heartbeat', 'cat: /w/runs/x/heartbeat.json: No such file or directory\n', 1) +
        section('alive', '', 1),
    );
    expect(missing.heartbeat).toBeNull();
    expect(missing.heartbeatError).toBe('cat: /w/runs/x/heartbeat.json: No such file or directory');
    expect(missing.processAlive).toBe(false);

    const torn = parseProbeOutput(
      section('heartbeat', '{"step": 12', 0) + section('alive', 'bash: pgrep: command not found\n', 127),
    );
    expect(torn.heartbeat).toBeNull();
    expect(torn.heartbeatError).toMatch(/not valid JSON/);
    expect(torn.processAlive).toBeNull();

    const none = parseProbeOutput('');
    expect(none.heartbeatError).toMatch(/no heartbeat section/);
    expect(none.processAlive).toBeNull();
    expect(none.hostTime).toBeNull();
  });

  it('ignores output of parts that failed', () => {
    const p = parseProbeOutput(
      section('gpu', 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n', 9) +
        section('log', "tail: cannot open '/w/training.log' for reading: No such file or directory\n", 1),
    );
    expect(p.gpus).toEqual([]);
    expect(p.logTail).toEqual([]);
    expect(p.exitCodes).toEqual({ gpu: 9, log: 1 });
  });
});

describe('the other parsers', () => {
  it('nvidia-smi: drops rows with [N/A] instead of inventing zeros', () => {
    expect(parseNvidiaSmi('0, 97, 100, 200, 60\n1, [N/A], 100, 200, 60\n2, 5, 1, 2\ngarbage\n')).toEqual([
      { index: 0, utilPct: 97, memUsedMb: 100, memTotalMb: 200, tempC: 60 },
    ]);
  });

  it('df -P: takes the last row, copes with long device names and refuses junk', () => {
    const text =
      'Filesystem                                  1024-blocks     Used Available Capacity Mounted on\n' +
      '/dev/mapper/very-long-volume-group-name-root   1000000   700000    300000      70% /workspace\n';
    expect(parseDf(text)).toEqual({ usedPct: 70, availBytes: 300000 * 1024, totalBytes: 1000000 * 1024 });
    expect(parseDf('df: /nope: No such file or directory\n')).toBeNull();
    expect(parseDf('Filesystem 1024-blocks Used Available Capacity Mounted on\nx a b c d% /\n')).toBeNull();
    // Reserved blocks: used + available < size; the share a user can fill is what counts.
    expect(
      parseDf('Filesystem 1K Used Available Capacity Mounted on\n/dev/sda 1000 450 450 50% /\n')?.usedPct,
    ).toBe(50);
  });

  it('checkpoint lists: numbered by step, then the rest by name; junk lines dropped', () => {
    const files = parseCheckpointList(
      'step_10000.pt 5\nfinal.pt 3\nstep_2500.pt 1\nweird name.pt 4\n../x.pt 9\nbest.pt 2\nstep_5000.pt nope\n',
    );
    expect(files).toEqual([
      { name: 'step_2500.pt', bytes: 1, step: 2500 },
      { name: 'step_10000.pt', bytes: 5, step: 10000 },
      { name: 'best.pt', bytes: 2, step: null },
      { name: 'final.pt', bytes: 3, step: null },
    ]);
  });

  it('epoch seconds, launch pid and n_experts', () => {
    expect(parseEpochSeconds('1767225600\n')).toBe(1767225600);
    expect(parseEpochSeconds('stat: cannot statx')).toBeNull();
    expect(parseEpochSeconds('')).toBeNull();
    expect(parseLaunchPid('4242\n')).toBe(4242);
    expect(parseLaunchPid('')).toBeNull();
    expect(parseLaunchPid('1\n2\n')).toBeNull();
    expect(parseConfigExperts('4\n')).toBe(4);
    expect(parseConfigExperts('8\n4\n')).toBe(8);
    expect(parseConfigExperts('')).toBeNull();
  });
});
