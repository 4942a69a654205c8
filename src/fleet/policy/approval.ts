import type { ActionKind } from '../../state/types.js';
import type { Policy } from '../schema.js';

/**
 * Which actions the service may take by itself. Restarting a crashed trainer and deleting old
 * checkpoints are routine and automatic unless the policy turns them off; collecting logs only
 * reads. Everything that costs money or can lose state (migrate, destroy, finish, stop) always
 * waits for a human's click. An action this code does not know is treated as dangerous.
 */
export function requiresApproval(action: ActionKind, policy: Pick<Policy, 'auto_actions'>): boolean {
  switch (action) {
    case 'restart':
      return policy.auto_actions.restart !== true;
    case 'clean_disk':
      return policy.auto_actions.clean_disk !== true;
    case 'collect_logs':
      return false;
    case 'stop':
    case 'migrate':
    case 'destroy':
    case 'finish':
      return true;
    default:
      return true;
  }
}
