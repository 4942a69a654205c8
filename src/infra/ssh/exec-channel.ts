import type { Client, ClientChannel } from 'ssh2';
import { SshDroppedError, SshError } from '../../errors.js';
import type { ExecResult } from './types.js';

export interface CommandRun {
  /** Settles once: with the command's output when its channel closes, or with the abort reason. */
  readonly result: Promise<ExecResult>;
  /** Stop waiting: reject `result` with `reason` and ask the host to close the channel. */
  abort(reason: Error): void;
  /** True once the channel has closed or failed to open; a timed-out run that never gets here
   * means the host stopped answering. */
  readonly channelDone: boolean;
}

export interface CommandInput {
  env?: Record<string, string>;
  stdin?: string | Buffer;
  maxOutputBytes: number;
}

/** Keeps at most `limit` bytes across stdout and stderr, so a chatty host cannot exhaust memory. */
function createOutputCollector(limit: number) {
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  let kept = 0;
  let truncated = false;
  return {
    /** Returns false once the cap is hit. */
    add(stream: 'stdout' | 'stderr', chunk: Buffer): boolean {
      const room = limit - kept;
      if (chunk.length > room) {
        if (room > 0) chunks[stream].push(chunk.subarray(0, room));
        kept = limit;
        truncated = true;
        return false;
      }
      chunks[stream].push(chunk);
      kept += chunk.length;
      return true;
    },
    get truncated() {
      return truncated;
    },
    text(stream: 'stdout' | 'stderr'): string {
      return Buffer.concat(chunks[stream]).toString('utf8');
    },
  };
}

/** Starts `command` on a new channel of an authenticated client. Never throws; never leaks an 'error'. */
export function startCommand(client: Client, command: string, input: CommandInput): CommandRun {
  let channel: ClientChannel | undefined;
  let channelDone = false;
  let finished = false;
  let code: number | null = null;
  let signal: string | undefined;
  const output = createOutputCollector(input.maxOutputBytes);
  let resolveResult: (result: ExecResult) => void = () => {};
  let rejectResult: (err: Error) => void = () => {};
  const result = new Promise<ExecResult>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });

  const fail = (err: Error) => {
    if (finished) return;
    finished = true;
    rejectResult(err);
  };

  const succeed = () => {
    if (finished) return;
    finished = true;
    const done: ExecResult = { stdout: output.text('stdout'), stderr: output.text('stderr'), code };
    if (signal !== undefined) done.signal = signal;
    if (output.truncated) done.truncated = true;
    resolveResult(done);
  };

  const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    // Past the cap we stop the command rather than keep reading what we would throw away.
    if (!output.add(stream, chunk)) channel?.close();
  };

  const onChannel = (err: Error | undefined, opened: ClientChannel) => {
    if (err) {
      channelDone = true;
      fail(new SshError(`could not start remote command: ${err.message}`, { cause: err }));
      return;
    }
    channel = opened;
    opened.on('error', (channelErr: Error) =>
      fail(new SshError(`remote command channel failed: ${channelErr.message}`, { cause: channelErr })),
    );
    opened.stderr.on('error', () => {});
    opened.on('exit', (exitCode: number | null, exitSignal?: string) => {
      code = typeof exitCode === 'number' ? exitCode : null;
      if (typeof exitSignal === 'string') signal = exitSignal;
    });
    opened.on('data', collect('stdout'));
    opened.stderr.on('data', collect('stderr'));
    opened.on('close', () => {
      channelDone = true;
      succeed();
    });
    if (finished) {
      // Aborted while the channel was opening: nobody will read it.
      opened.close();
      return;
    }
    // Always send EOF so a command that reads stdin cannot wait forever for it.
    if (input.stdin !== undefined) opened.end(input.stdin);
    else opened.end();
  };

  try {
    client.exec(command, input.env === undefined ? {} : { env: input.env }, onChannel);
  } catch (err) {
    // ssh2 throws synchronously when the socket is already gone.
    channelDone = true;
    fail(new SshDroppedError('ssh connection is not open', { cause: err }));
  }

  return {
    result,
    abort(reason) {
      fail(reason);
      channel?.close();
    },
    get channelDone() {
      return channelDone;
    },
  };
}
