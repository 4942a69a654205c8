import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { parseTrainCommand, type TrainCommand } from '../../src/commands/train-args.js';
import { errorMessage } from '../../src/errors.js';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { loadDigestInput } from '../../src/slack-app/fleet-view.js';
import { renderHelp } from '../../src/slack-messages/help.js';
import { renderJournal } from '../../src/slack-messages/journal.js';
import { escapeMrkdwn } from '../../src/slack-messages/limits.js';
import { renderStatusDigest } from '../../src/slack-messages/status-digest.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/**
 * `/train …`: ack at once (Slack allows 3 s), then answer through the notify queue's response_url
 * job, or hand slow work to the healer/ops/monitor queues which answer when done.
 */
export function trainCommandCallback(deps: SlackDeps) {
  return async ({ ack, command, logger }: Args): Promise<void> => {
    const started = performance.now();
    await ack();
    if (!deps.ackTimedByReceiver) {
      deps.metrics.ackLatency.observe({ kind: 'command' }, (performance.now() - started) / 1000);
    }
    try {
      const parsed = parseTrainCommand(
        command.text ?? '',
        deps.fleet.runs.map((r) => r.name),
      );
      await handle(deps, parsed, command.user_id, command.response_url);
    } catch (err) {
      logger.error(`/train failed: ${errorMessage(err)}`);
      await reply(deps, command.response_url, { text: `:x: /train failed: ${errorMessage(err)}` }).catch(
        () => {},
      );
    }
  };
}

function reply(
  deps: SlackDeps,
  responseUrl: string,
  message: { text: string; blocks?: unknown[] },
  visibility: 'ephemeral' | 'in_channel' = 'ephemeral',
) {
  return deps.queues.enqueue('notify', 'response', {
    kind: 'response',
    url: responseUrl,
    body: { response_type: visibility, replace_original: false, ...message },
  });
}

async function handle(deps: SlackDeps, cmd: TrainCommand, user: string, responseUrl: string): Promise<void> {
  const { store, queues, fleet, clock } = deps;
  const runs = fleet.runs.map((r) => r.name);
  switch (cmd.kind) {
    case 'help':
      await reply(deps, responseUrl, renderHelp(runs));
      return;
    case 'invalid':
      await reply(deps, responseUrl, renderHelp(runs, { unknown: cmd.message }));
      return;
    case 'status': {
      if (cmd.refresh) {
        const target = cmd.run ?? undefined;
        await reply(deps, responseUrl, { text: ':mag: Sweeping now; the fresh status follows in a moment.' });
        if (target) {
          await queues.enqueue('monitor', 'sweep_run', {
            kind: 'sweep_run',
            run: target,
            responseUrl,
            requestedBy: user,
          });
        } else {
          for (const run of runs) {
            await queues.enqueue('monitor', 'sweep_run', { kind: 'sweep_run', run, requestedBy: user });
          }
          await queues.enqueue(
            'notify',
            'digest',
            { kind: 'digest', channel: deps.channelId },
            { delay: 5_000 },
          );
        }
        return;
      }
      const input = await loadDigestInput(store, fleet, clock.now(), cmd.run ?? undefined);
      await reply(deps, responseUrl, renderStatusDigest(input));
      return;
    }
    case 'journal': {
      const records = await store.journal.recent(cmd.count, cmd.run ? { run: cmd.run } : {});
      await reply(deps, responseUrl, renderJournal(records.map((r) => r.entry)));
      return;
    }
    case 'logs':
      await queues.enqueue('healer', 'collect_logs', {
        action: 'collect_logs',
        run: cmd.run,
        reason: `/train logs by <@${user}>`,
        requestedBy: user,
        responseUrl,
        lines: cmd.lines,
      });
      await reply(deps, responseUrl, {
        text: `:scroll: Fetching the last ${cmd.lines} log lines of ${cmd.run}…`,
      });
      return;
    case 'restart':
    case 'clean':
      await queues.enqueue('healer', cmd.kind, {
        action: cmd.kind === 'clean' ? 'clean_disk' : 'restart',
        run: cmd.run,
        reason: `/train ${cmd.kind} by <@${user}>`,
        requestedBy: user,
        responseUrl,
      });
      await reply(deps, responseUrl, {
        text: `:wrench: ${cmd.kind} of ${cmd.run} queued; progress follows.`,
      });
      return;
    case 'migrate':
    case 'offers':
      await queues.enqueue('ops', 'offers', {
        action: 'offers',
        run: cmd.run,
        reason: cmd.kind === 'migrate' ? `/train migrate by <@${user}>` : `/train offers by <@${user}>`,
        requestedBy: user,
        responseUrl,
      });
      await reply(deps, responseUrl, {
        text: `:mag: Ranking replacement offers for ${cmd.run}; a proposal with Approve buttons follows.`,
      });
      return;
    case 'pause':
    case 'resume': {
      const state = await store.getRunState(cmd.run);
      if (!state) {
        await reply(deps, responseUrl, {
          text: `${cmd.run} has not been swept yet; try again after the first sweep.`,
        });
        return;
      }
      const paused = cmd.kind === 'pause';
      await store.putRunState({ ...state, paused });
      await store.journal.append({
        type: cmd.kind,
        model: cmd.run,
        message: `supervision ${paused ? 'paused' : 'resumed'} by ${user}`,
      });
      await reply(
        deps,
        responseUrl,
        {
          text: `${paused ? ':double_vertical_bar:' : ':arrow_forward:'} <@${user}> ${paused ? 'paused' : 'resumed'} supervision of ${cmd.run}.`,
        },
        'in_channel',
      );
      return;
    }
    case 'ack': {
      const result = await store.incidents.ack(cmd.incidentId, user);
      if (!result) {
        await reply(deps, responseUrl, { text: `No incident ${cmd.incidentId}.` });
        return;
      }
      if (result.acked) {
        await queues.enqueue('notify', 'incident', {
          kind: 'incident',
          incidentId: cmd.incidentId,
          change: 'acked',
        });
      }
      const by = result.incident.ackedBy ?? user;
      await reply(deps, responseUrl, {
        text: result.acked
          ? `:white_check_mark: Acknowledged ${cmd.incidentId}.`
          : `${cmd.incidentId} was already acknowledged by <@${by}>.`,
      });
      return;
    }
    case 'ask':
      await queues.enqueue('notify', 'ask', {
        kind: 'post',
        channel: deps.channelId,
        text: `:speech_balloon: <@${user}> asked: ${escapeMrkdwn(cmd.question)}`,
        ask: { user, text: cmd.question },
      });
      return;
  }
}
