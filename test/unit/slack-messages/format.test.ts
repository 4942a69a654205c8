import { describe, expect, it } from 'vitest';
import {
  button,
  formatActor,
  formatDuration,
  formatHours,
  formatInt,
  formatMention,
  formatMentions,
  formatRelative,
  formatUtc,
  header,
  progressBar,
} from '../../../src/slack-messages/index.js';
import { HOUR, MINUTE, NOW } from './fixtures.js';

describe('formatMention', () => {
  it('turns user ids into <@U…> and group ids into <!subteam^S…>', () => {
    expect(formatMention('U024BE7LH')).toBe('<@U024BE7LH>');
    expect(formatMention('W0ENTERPRISE1')).toBe('<@W0ENTERPRISE1>');
    expect(formatMention('S0614TZR7')).toBe('<!subteam^S0614TZR7>');
    expect(formatMention(' <@U024BE7LH|alice> ')).toBe('<@U024BE7LH>');
    expect(formatMention('<!subteam^S0614TZR7|@ml-oncall>')).toBe('<!subteam^S0614TZR7>');
  });

  it('refuses anything else, so configuration cannot broadcast', () => {
    for (const bad of [
      '<!channel>',
      '<!here>',
      'here',
      '@channel',
      'u024be7lh',
      'C0CHANNEL1',
      'U1',
      '',
      'U024BE7LH>',
    ]) {
      expect(formatMention(bad), bad).toBeNull();
    }
    expect(formatMentions(['U024BE7LH', 'nope', 'U024BE7LH', 'S0614TZR7'])).toEqual([
      '<@U024BE7LH>',
      '<!subteam^S0614TZR7>',
    ]);
  });

  it('formatActor mentions users and escapes anything else', () => {
    expect(formatActor('U024BE7LH')).toBe('<@U024BE7LH>');
    expect(formatActor('policy')).toBe('policy');
    expect(formatActor('<!channel>')).toBe('&lt;!channel&gt;');
  });
});

describe('times and numbers', () => {
  it('formats absolute times in UTC and durations compactly', () => {
    expect(formatUtc(NOW)).toBe('2026-01-01 12:00 UTC');
    expect(formatUtc(Number.NaN)).toBe('unknown time');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(12 * MINUTE)).toBe('12m');
    expect(formatDuration(3 * HOUR + 5 * MINUTE)).toBe('3h 5m');
    expect(formatDuration(2 * HOUR)).toBe('2h');
    expect(formatDuration(52 * HOUR)).toBe('2d 4h');
    expect(formatRelative(NOW - 12 * MINUTE, NOW)).toBe('12m ago');
    expect(formatRelative(NOW + 25 * MINUTE, NOW)).toBe('in 25m');
    expect(formatRelative(NOW - 1000, NOW)).toBe('just now');
  });

  it('formats counts and hours', () => {
    expect(formatInt(1234567)).toBe('1,234,567');
    expect(formatInt(-1500)).toBe('-1,500');
    expect(formatInt(null)).toBe('–');
    expect(formatHours(0.5)).toBe('30m');
    expect(formatHours(23.46)).toBe('23.5h');
    expect(formatHours(72)).toBe('3.0d');
    expect(formatHours(Number.POSITIVE_INFINITY)).toBe('–');
  });

  it('draws a progress bar that is only full at 100%', () => {
    expect(progressBar(42)).toBe('▓▓▓▓░░░░░░');
    expect(progressBar(99.9)).toBe('▓▓▓▓▓▓▓▓▓░');
    expect(progressBar(100)).toBe('▓▓▓▓▓▓▓▓▓▓');
    expect(progressBar(-5)).toBe('░░░░░░░░░░');
    expect(progressBar(250)).toBe('▓▓▓▓▓▓▓▓▓▓');
    expect(progressBar(Number.NaN)).toBe('░░░░░░░░░░');
  });
});

describe('plain text', () => {
  it('headers and buttons cannot carry Slack control syntax', () => {
    expect(header('<!channel> down').text.text).toBe('‹!channel› down');
    expect(button('<@U1> go', 'a', 'v').text.text).toBe('‹@U1› go');
  });
});
