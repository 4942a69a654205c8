import { ValidationError } from '../../errors.js';
import { buttonsOf } from './block-kit.js';
import type { Deliverer, DeliveryAnswer, DeliveryOutcome } from './delivery.js';
import type { Messaging } from './messaging.js';
import { blockActionsPayload, interactivityForm, slashCommandForm, triggerId } from './payloads.js';
import {
  type ResponseMessage,
  ResponseMessageSchema,
  type ResponseUrlPost,
  type ResponseUrls,
} from './response-urls.js';
import type { SimChannel, SlackUserSpec } from './types.js';
import { formatTs, SLACKBOT_USER_ID, type Workspace } from './workspace.js';

/**
 * What a person does in the Slack client that reaches the app as interactivity: running a slash
 * command and clicking a button. Slack does not retry these; when the app fails to answer 200
 * within 3 s the person sees an error from Slackbot, which is what happens here too.
 */

export interface SendCommandInput {
  user: string;
  channel: string;
  /** The whole line as typed (`/train status`), or only the arguments when `command` is given. */
  text: string;
  command?: string;
}

export interface ClickButtonInput {
  user: string;
  channel: string;
  /** The ts of the message holding the button. */
  ts: string;
  actionId: string;
  /** Picks among buttons sharing an action_id. */
  value?: string;
  blockId?: string;
}

export interface InteractionResult {
  /** The app's HTTP status; 0 when it did not answer. */
  status: number;
  outcome: DeliveryOutcome;
  latencyMs: number;
  /** The app's answer body: parsed JSON, text, or undefined when empty. */
  body: unknown;
  responseUrl: string;
  /** Posts the app makes to this response_url; the array grows as they arrive. */
  responseUrlPosts: readonly ResponseUrlPost[];
}

/** `/train status x` -> command `/train`, text `status x`. */
export function parseCommandLine(line: string): { command: string; text: string } {
  const trimmed = line.trim();
  const match = /^(\/[^\s]+)\s*([\s\S]*)$/.exec(trimmed);
  if (!match) throw new ValidationError(`not a slash command: ${JSON.stringify(line)}`);
  return { command: (match[1] ?? '').toLowerCase(), text: match[2] ?? '' };
}

function parseAnswerBody(answer: DeliveryAnswer): unknown {
  if (answer.body.trim() === '') return undefined;
  try {
    return JSON.parse(answer.body);
  } catch {
    return answer.body;
  }
}

/** A command's ack may carry the first response: a string is its text, an object a message. */
function immediateResponse(body: unknown): ResponseMessage | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return { text: body };
  const parsed = ResponseMessageSchema.safeParse(body);
  return parsed.success && (parsed.data.text !== undefined || parsed.data.blocks !== undefined)
    ? parsed.data
    : undefined;
}

export interface InteractionsOptions {
  ws: Workspace;
  messaging: Messaging;
  deliverer: Deliverer;
  responseUrls: ResponseUrls;
  commands: readonly string[];
}

export type Interactions = ReturnType<typeof createInteractions>;

export function createInteractions(options: InteractionsOptions) {
  const { ws, messaging, deliverer, responseUrls } = options;

  function channelOf(ref: string): SimChannel {
    const channel = ws.resolveChannel(ref);
    if (!channel) throw new ValidationError(`local slack: no channel ${ref}`);
    return channel;
  }

  function userOf(id: string): SlackUserSpec {
    const user = ws.users.get(id);
    if (!user) throw new ValidationError(`local slack: no user ${id}`);
    return user;
  }

  function slackbotNotice(channel: SimChannel, user: string, text: string, threadTs?: string): void {
    messaging.postAsBot({
      channel,
      text,
      ephemeralTo: user,
      asUser: SLACKBOT_USER_ID,
      ...(threadTs && { threadTs }),
    });
  }

  function isCommand(command: string): boolean {
    return options.commands.includes(command);
  }

  async function sendCommand(input: SendCommandInput): Promise<InteractionResult> {
    const { command, text } =
      input.command === undefined
        ? parseCommandLine(input.text)
        : { command: input.command, text: input.text };
    if (!isCommand(command)) throw new ValidationError(`${command} is not a command of this app`);
    const channel = channelOf(input.channel);
    const user = userOf(input.user);
    const response = responseUrls.create(channel, user.id);
    const body = slashCommandForm({
      id: messaging.identity,
      channel,
      user,
      command,
      text,
      responseUrl: response.url,
      triggerId: triggerId(Date.now()),
    });
    const answer = await deliverer.deliver({
      kind: 'slash_command',
      label: command,
      body,
      contentType: 'application/x-www-form-urlencoded',
    });
    const parsed = parseAnswerBody(answer);
    if (answer.outcome === 'acked') {
      const first = immediateResponse(parsed);
      if (first?.response_type === 'in_channel') {
        // An in_channel answer also shows the invocation to the channel.
        messaging.postAsBot({ channel, text: `${command} ${text}`.trim(), asUser: user.id });
      }
      if (first) responseUrls.applyImmediate(response.id, first);
    } else {
      const error = answer.outcome === 'http_timeout' ? 'operation_timeout' : 'dispatch_failed';
      slackbotNotice(channel, user.id, `${command} failed with the error "${error}"`);
    }
    return {
      status: answer.status,
      outcome: answer.outcome,
      latencyMs: answer.latencyMs,
      body: parsed,
      responseUrl: response.url,
      responseUrlPosts: response.posts,
    };
  }

  async function clickButton(input: ClickButtonInput): Promise<InteractionResult> {
    const channel = channelOf(input.channel);
    const user = userOf(input.user);
    const message = ws.findMessage(channel.id, input.ts);
    if (!message || (message.ephemeralTo !== undefined && message.ephemeralTo !== user.id)) {
      throw new ValidationError(`local slack: ${user.id} sees no message ${input.ts} in ${channel.id}`);
    }
    const button = buttonsOf(message.blocks).find(
      (b) =>
        b.actionId === input.actionId &&
        (input.value === undefined || b.value === input.value) &&
        (input.blockId === undefined || b.blockId === input.blockId),
    );
    if (!button)
      throw new ValidationError(`local slack: message ${input.ts} has no button ${input.actionId}`);
    const response = responseUrls.create(channel, user.id, { ts: message.ts });
    const payload = blockActionsPayload({
      id: messaging.identity,
      channel,
      user,
      message: messaging.apiView(message),
      ephemeral: message.ephemeralTo !== undefined,
      button,
      actionTs: formatTs(Math.floor(ws.clock.now() * 1000)),
      responseUrl: response.url,
      triggerId: triggerId(Date.now()),
    });
    const answer = await deliverer.deliver({
      kind: 'block_actions',
      label: button.actionId,
      body: interactivityForm(payload),
      contentType: 'application/x-www-form-urlencoded',
    });
    return {
      status: answer.status,
      outcome: answer.outcome,
      latencyMs: answer.latencyMs,
      body: parseAnswerBody(answer),
      responseUrl: response.url,
      responseUrlPosts: response.posts,
    };
  }

  return { sendCommand, clickButton, isCommand, slackbotNotice, commands: options.commands };
}
