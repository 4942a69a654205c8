import { describe, expect, it } from 'vitest';
import { type LogLine, parseLogLine, summarizeLogTail } from '../../../src/fleet/health/log.js';
import { LOG, stepLine } from './samples.js';

describe('parseLogLine', () => {
  const cases: [string, string, LogLine][] = [
    [
      'MoE step line',
      LOG.step,
      {
        kind: 'step',
        step: 12340,
        max: 50000,
        loss: 3.1234,
        ppl: 22.7,
        lr: 2.91e-4,
        gradNorm: 0.87,
        tokS: 48211,
        aux: 0.0123,
      },
    ],
    [
      'dense step line (no aux)',
      LOG.denseStep,
      {
        kind: 'step',
        step: 12340,
        max: 50000,
        loss: 3.1234,
        ppl: 22.7,
        lr: 2.91e-4,
        gradNorm: 0.87,
        tokS: 48211,
        aux: null,
      },
    ],
    [
      'resumed',
      LOG.resumed,
      { kind: 'resumed', step: 10000, max: 50000, checkpoint: 'runs/mosaic_small_3090/step_10000.pt' },
    ],
    ['eval', LOG.eval, { kind: 'eval', step: 12000, loss: 3.2011, ppl: 24.56 }],
    ['plateau', LOG.plateau, { kind: 'plateau', message: 'val loss flat for 5 evals (best 3.1902)' }],
    ['sigterm', LOG.sigterm, { kind: 'sigterm' }],
    ['complete', LOG.complete, { kind: 'complete', bestValLoss: 2.9876 }],
    ['oom', LOG.oom, { kind: 'error', signature: 'oom', text: LOG.oom }],
    ['exitcode -9', LOG.exit9, { kind: 'error', signature: 'killed', text: LOG.exit9 }],
    ['Killed', LOG.killed, { kind: 'error', signature: 'killed', text: LOG.killed }],
    ['disk full', LOG.diskFull, { kind: 'error', signature: 'disk_full', text: LOG.diskFull }],
    ['no kernel image', LOG.noKernel, { kind: 'error', signature: 'no_kernel_image', text: LOG.noKernel }],
    ['unrelated', 'Loading tokenizer gpt2...', { kind: 'other', text: 'Loading tokenizer gpt2...' }],
    ['empty', '', { kind: 'other', text: '' }],
  ];

  it.each(cases)('parses a %s line', (_label, line, expected) => {
    expect(parseLogLine(line)).toEqual(expected);
  });

  it('recognises the NCCL watchdog behind the torchrun rank prefix', () => {
    expect(parseLogLine(LOG.nccl)).toMatchObject({ kind: 'error', signature: 'nccl_hang' });
  });

  it('parses nan and inf in a step line as non-finite numbers', () => {
    const line = parseLogLine(LOG.nanStep);
    expect(line).toMatchObject({ kind: 'step', step: 12350, tokS: 48105 });
    if (line.kind !== 'step') throw new Error('not a step line');
    expect(line.loss).toBeNaN();
    expect(line.ppl).toBeNaN();
    const inf = parseLogLine(stepLine(100, 'inf'));
    expect(inf.kind === 'step' && inf.loss).toBe(Number.POSITIVE_INFINITY);
  });

  it('tolerates CRLF and the rank prefix on step lines', () => {
    expect(parseLogLine(`[rank0]: ${LOG.step}\r`)).toMatchObject({ kind: 'step', step: 12340 });
  });

  it('does not take a step line without a loss for a step line', () => {
    expect(parseLogLine('step  12340/50000 | warming up')).toMatchObject({ kind: 'other' });
  });
});

describe('summarizeLogTail', () => {
  it('reports the last step, loss and tok/s', () => {
    const summary = summarizeLogTail([stepLine(12320), LOG.eval, stepLine(12330, '3.1201', 48190)]);
    expect(summary).toMatchObject({
      lastStep: 12330,
      maxSteps: 50000,
      lastLoss: 3.1201,
      lastTokS: 48190,
      lossIsNaN: false,
      errorSignature: null,
      complete: false,
      sigterm: false,
    });
  });

  it('reports a NaN loss with a null lastLoss and the nan signature', () => {
    const summary = summarizeLogTail([stepLine(12340), LOG.nanStep]);
    expect(summary).toMatchObject({
      lastStep: 12350,
      lastLoss: null,
      lossIsNaN: true,
      errorSignature: 'nan',
    });
  });

  it('keeps the LAST signature', () => {
    expect(summarizeLogTail([LOG.oom, LOG.exit9]).errorSignature).toBe('killed');
    expect(summarizeLogTail([LOG.diskFull, stepLine(12340), LOG.noKernel]).errorSignature).toBe(
      'no_kernel_image',
    );
  });

  it('forgets signatures, SIGTERM and completion older than a later RESUMED line', () => {
    const summary = summarizeLogTail([
      stepLine(12340),
      LOG.oom,
      LOG.exit9,
      LOG.sigterm,
      LOG.resumed,
      stepLine(10010),
    ]);
    expect(summary).toMatchObject({
      errorSignature: null,
      errorLine: null,
      sigterm: false,
      resumedAt: 10000,
      lastStep: 10010,
    });
  });

  it('keeps a signature that comes after the RESUMED line', () => {
    const summary = summarizeLogTail([LOG.nanStep, LOG.resumed, stepLine(10010), LOG.oom]);
    expect(summary).toMatchObject({ errorSignature: 'oom', errorLine: LOG.oom, lossIsNaN: false });
  });

  it('takes the step from a RESUMED line that follows the last step line', () => {
    expect(summarizeLogTail([stepLine(12340), LOG.resumed]).lastStep).toBe(10000);
  });

  it('reports completion, best val loss and SIGTERM', () => {
    expect(summarizeLogTail([stepLine(50000), LOG.complete])).toMatchObject({
      complete: true,
      bestValLoss: 2.9876,
    });
    expect(summarizeLogTail([stepLine(12340), LOG.sigterm]).sigterm).toBe(true);
  });

  it('summarises an empty or junk tail to nothing', () => {
    const junk = ['\u0000\u0001binary', 'Traceback (most recent call last):', ''];
    for (const tail of [[], junk]) {
      expect(summarizeLogTail(tail)).toMatchObject({ lastStep: null, errorSignature: null, complete: false });
    }
  });
});
