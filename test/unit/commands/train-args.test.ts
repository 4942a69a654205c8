import { describe, expect, it } from 'vitest';
import { parseTrainCommand } from '../../../src/commands/train-args.js';

const RUNS = ['gpt2_reference', 'mosaic_dense', 'mosaic_moe'];
const parse = (text: string) => parseTrainCommand(text, RUNS);

describe('parseTrainCommand', () => {
  it.each([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['status', { kind: 'status', run: null, refresh: false }],
    ['status mosaic_moe --refresh', { kind: 'status', run: 'mosaic_moe', refresh: true }],
    ['status --refresh', { kind: 'status', run: null, refresh: true }],
    ['journal', { kind: 'journal', count: 10, run: null }],
    ['journal 5 mosaic_dense', { kind: 'journal', count: 5, run: 'mosaic_dense' }],
    ['journal mosaic_dense 5', { kind: 'journal', count: 5, run: 'mosaic_dense' }],
    ['logs mosaic_moe', { kind: 'logs', run: 'mosaic_moe', lines: 30 }],
    ['logs mosaic_moe 100', { kind: 'logs', run: 'mosaic_moe', lines: 100 }],
    ['restart mosaic_moe', { kind: 'restart', run: 'mosaic_moe' }],
    ['  MIGRATE   gpt2_reference ', { kind: 'migrate', run: 'gpt2_reference' }],
    ['ack inc_abc123', { kind: 'ack', incidentId: 'inc_abc123' }],
    ['ask why is moe slow?', { kind: 'ask', question: 'why is moe slow?' }],
  ])('parses %j', (text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  it.each([
    ['frobnicate', /unknown subcommand "frobnicate"/],
    ['restart', /usage: \/train restart <run>/],
    ['restart nope', /unknown run "nope"; runs: gpt2_reference, mosaic_dense, mosaic_moe/],
    ['restart mosaic_moe; rm -rf /', /usage/],
    ['restart $(reboot)', /unknown run/],
    ['logs mosaic_moe 10000', /between 1 and 200/],
    ['logs mosaic_moe -5', /whole number/],
    ['journal 0', /between 1 and 50/],
    ['ack ../../etc', /usage: \/train ack/],
    ['status a b', /usage/],
    ['ask', /usage: \/train ask/],
  ])('refuses %j with a clear message', (text, expected) => {
    const parsed = parse(text);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.message).toMatch(expected);
  });
});
