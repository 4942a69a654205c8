import { PolicyViolation } from '../../errors.js';
import type { Policy } from '../schema.js';

/**
 * Rule 4: training is stopped with `killall -9 torchrun`, never `pkill -9 -f python3` (which
 * also kills the monitor, the heartbeat writer, Jupyter and anything else running Python). The
 * schema only admits the safe command; this check holds even for a policy built without it.
 *
 * The policy's command names the multi-GPU launcher, and the fleet file keeps it that way. But a
 * run whose GPU profile has nproc 1 is launched as `python3 -u experiments/train.py` with no
 * torchrun at all, and `killall -9 torchrun` leaves that trainer running (the healer would then
 * start a second one on the same run dir). So the remote stop line (src/fleet/remote/commands.ts)
 * runs the policy's command and then `pkill -9 -f` of TRAINER_COMMAND_LINE: exactly a python or
 * torchrun process running the trainer script, never every python3 on the box.
 */

const SAFE_STOP_COMMANDS: readonly string[] = ['killall -9 torchrun'];

/**
 * The trainer's command line as `pgrep -f` / `pkill -f` see it (argv joined by spaces), as a POSIX
 * extended regular expression (JavaScript's RegExp reads it the same way). It matches
 * `python3 -u experiments/train.py ...` (the single-GPU launch and each torchrun worker) and
 * `.../torchrun --nproc_per_node=N experiments/train.py ...`, and not an editor, `tail` or `grep`
 * that merely names the script, nor any other Python program. The script's dot is written `[.]`:
 * a shell command line that carries the pattern (the probe's, the stop's) then never contains
 * `experiments/train.py` itself, so pgrep and pkill never match their own shell.
 */
export const TRAINER_COMMAND_LINE = '(python[0-9.]*|torchrun) (.* )?experiments/train[.]py( |$)';

function looksLikeBroadKill(command: string): boolean {
  return /\bpkill\b/.test(command) || /\bpython/i.test(command) || /(^|\s)-f(\s|$)/.test(command);
}

export function stopCommand(policy: Pick<Policy, 'stop_command'>): string {
  const command = String(policy.stop_command).trim().replace(/\s+/g, ' ');
  if (looksLikeBroadKill(command)) {
    throw new PolicyViolation(
      'stop_command',
      `refusing stop command ${JSON.stringify(command)}: never pkill -f python; use killall -9 torchrun`,
    );
  }
  if (!SAFE_STOP_COMMANDS.includes(command)) {
    throw new PolicyViolation(
      'stop_command',
      `refusing stop command ${JSON.stringify(command)}: only ${SAFE_STOP_COMMANDS.join(' or ')} is allowed`,
    );
  }
  return command;
}
