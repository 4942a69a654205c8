import { type Block, context, divider, header, type SlackMessage, section } from './blocks.js';
import { oneLine } from './format.js';
import { escapeAndTruncate, escapeMrkdwn, finalizeMessage } from './limits.js';

export interface TrainSubcommand {
  name: string;
  usage: string;
  description: string;
}

/** The `/train` subcommands, in the order help lists them. */
export const TRAIN_SUBCOMMANDS: readonly TrainSubcommand[] = [
  {
    name: 'status',
    usage: 'status [run] [--refresh]',
    description: 'Fleet digest, or one run; --refresh probes now',
  },
  {
    name: 'journal',
    usage: 'journal [N] [run]',
    description: 'The newest N journal entries, for all runs or one',
  },
  { name: 'logs', usage: 'logs <run> [N]', description: 'The last N lines of the training log' },
  { name: 'restart', usage: 'restart <run>', description: 'Restart the trainer from the latest checkpoint' },
  {
    name: 'clean',
    usage: 'clean <run>',
    description: 'Delete old step checkpoints (keeps the newest 2, latest, best, final)',
  },
  {
    name: 'migrate',
    usage: 'migrate <run>',
    description: 'Propose moving the run to a new instance (needs approval)',
  },
  { name: 'offers', usage: 'offers <run>', description: 'Show the best replacement offers for the run' },
  {
    name: 'pause',
    usage: 'pause <run>',
    description: 'Stop supervising the run (no alerts, no automatic fixes)',
  },
  { name: 'resume', usage: 'resume <run>', description: 'Supervise the run again' },
  { name: 'ack', usage: 'ack <incident>', description: 'Acknowledge an incident (stops re-paging)' },
  { name: 'ask', usage: 'ask <question>', description: 'Ask the conductor about the fleet' },
  { name: 'help', usage: 'help', description: 'This message' },
];

export interface HelpOptions {
  /** The subcommand the user typed that we did not understand. */
  unknown?: string | undefined;
}

const RUNS_BUDGET = 2500;

function runsText(runs: readonly string[]): string {
  if (runs.length === 0) return '*Runs:* none configured yet.';
  const shown: string[] = [];
  let length = 0;
  for (const run of runs) {
    const name = `\`${escapeAndTruncate(oneLine(run).replace(/`/g, ''), 64)}\``;
    if (length + name.length + 2 > RUNS_BUDGET) break;
    shown.push(name);
    length += name.length + 2;
  }
  const more = runs.length - shown.length;
  return `*Runs (${runs.length}):* ${shown.join(', ')}${more > 0 ? ` _…and ${more} more_` : ''}`;
}

/** `/train help`, and the reply to an unknown subcommand. */
export function renderHelp(runs: readonly string[], options: HelpOptions = {}): SlackMessage {
  const blocks: Block[] = [];
  let text = 'Train Conductor: /train subcommands';
  if (options.unknown !== undefined) {
    // Backticks removed so the user's text cannot close the code span around it.
    const unknown = escapeAndTruncate(oneLine(options.unknown).replace(/`/g, ''), 100) || '(empty)';
    blocks.push(
      section(
        `:warning: Unknown command \`${unknown}\`. Here is what \`/train\` understands:`,
        'help-unknown',
      ),
    );
    text = `Unknown command "${unknown}". ${text}`;
  }
  // `<run>` must be escaped: a bare `<…>` is Slack control syntax, not text.
  const usage = TRAIN_SUBCOMMANDS.map(
    (c) => `\`/train ${escapeMrkdwn(c.usage)}\` — ${escapeMrkdwn(c.description)}`,
  ).join('\n');
  blocks.push(
    header('Train Conductor: /train', 'help-header'),
    section(usage, 'help-commands'),
    divider(),
    section(runsText(runs), 'help-runs'),
    context(
      ['Ask in a thread by mentioning the bot. Approvals happen with the buttons on alerts and proposals.'],
      'help-footer',
    ),
  );
  return finalizeMessage(text, blocks);
}
