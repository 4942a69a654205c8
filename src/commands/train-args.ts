/**
 * `/train` argument parsing, pure. Everything a user types is validated here against the fleet's
 * run names and fixed shapes, so no text from Slack ever reaches a shell or a queue unchecked.
 */

export type RunAction = 'restart' | 'clean' | 'migrate' | 'offers' | 'pause' | 'resume';

export type TrainCommand =
  | { kind: 'status'; run: string | null; refresh: boolean }
  | { kind: 'journal'; count: number; run: string | null }
  | { kind: 'logs'; run: string; lines: number }
  | { kind: RunAction; run: string }
  | { kind: 'ack'; incidentId: string }
  | { kind: 'ask'; question: string }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

const RUN_ACTIONS: readonly RunAction[] = ['restart', 'clean', 'migrate', 'offers', 'pause', 'resume'];
const INCIDENT_ID = /^[A-Za-z0-9_-]{4,64}$/;
const MAX_QUESTION = 4000;

function invalid(message: string): TrainCommand {
  return { kind: 'invalid', message };
}

function runArg(word: string | undefined, runs: readonly string[], usage: string): string | TrainCommand {
  if (word === undefined) return invalid(`usage: ${usage}`);
  if (!runs.includes(word)) {
    return invalid(`unknown run ${JSON.stringify(word.slice(0, 64))}; runs: ${runs.join(', ')}`);
  }
  return word;
}

function countArg(word: string, min: number, max: number, what: string): number | TrainCommand {
  if (!/^\d{1,6}$/.test(word))
    return invalid(`${what} must be a whole number, got ${JSON.stringify(word.slice(0, 32))}`);
  const n = Number(word);
  if (n < min || n > max) return invalid(`${what} must be between ${min} and ${max}`);
  return n;
}

export function parseTrainCommand(text: string, runs: readonly string[]): TrainCommand {
  const trimmed = text.trim();
  const [sub, ...rest] = trimmed.split(/\s+/).filter(Boolean);
  switch (sub?.toLowerCase()) {
    case undefined:
    case 'help':
      return { kind: 'help' };
    case 'status': {
      const refresh = rest.includes('--refresh');
      const words = rest.filter((w) => w !== '--refresh');
      if (words.length > 1) return invalid('usage: /train status [run] [--refresh]');
      if (words[0] === undefined) return { kind: 'status', run: null, refresh };
      const run = runArg(words[0], runs, '/train status [run] [--refresh]');
      return typeof run === 'string' ? { kind: 'status', run, refresh } : run;
    }
    case 'journal': {
      let count = 10;
      let run: string | null = null;
      if (rest.length > 2) return invalid('usage: /train journal [N] [run]');
      for (const word of rest) {
        if (/^\d+$/.test(word)) {
          const n = countArg(word, 1, 50, 'N');
          if (typeof n !== 'number') return n;
          count = n;
        } else {
          const r = runArg(word, runs, '/train journal [N] [run]');
          if (typeof r !== 'string') return r;
          run = r;
        }
      }
      return { kind: 'journal', count, run };
    }
    case 'logs': {
      if (rest.length > 2) return invalid('usage: /train logs <run> [N]');
      const run = runArg(rest[0], runs, '/train logs <run> [N]');
      if (typeof run !== 'string') return run;
      const lines = rest[1] === undefined ? 30 : countArg(rest[1], 1, 200, 'N');
      return typeof lines === 'number' ? { kind: 'logs', run, lines } : lines;
    }
    case 'ack': {
      if (rest.length !== 1 || !INCIDENT_ID.test(rest[0] ?? ''))
        return invalid('usage: /train ack <incident id>');
      return { kind: 'ack', incidentId: rest[0] as string };
    }
    case 'ask': {
      const question = trimmed.slice(3).trim();
      if (!question) return invalid('usage: /train ask <question>');
      if (question.length > MAX_QUESTION)
        return invalid(`questions are limited to ${MAX_QUESTION} characters`);
      return { kind: 'ask', question };
    }
    default: {
      const action = RUN_ACTIONS.find((a) => a === sub?.toLowerCase());
      if (!action) return invalid(`unknown subcommand ${JSON.stringify((sub ?? '').slice(0, 32))}`);
      if (rest.length !== 1) return invalid(`usage: /train ${action} <run>`);
      const run = runArg(rest[0], runs, `/train ${action} <run>`);
      return typeof run === 'string' ? { kind: action, run } : run;
    }
  }
}
