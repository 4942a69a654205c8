import { PolicyViolation } from '../../errors.js';
import type { Policy } from '../schema.js';

/**
 * Rule 4: training is stopped with `killall -9 torchrun`, never `pkill -9 -f python3` (which
 * also kills the monitor, the heartbeat writer, Jupyter and anything else running Python). The
 * schema only admits the safe command; this check holds even for a policy built without it.
 */

const SAFE_STOP_COMMANDS: readonly string[] = ['killall -9 torchrun'];

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
