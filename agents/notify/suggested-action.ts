import type { Incident } from '../../src/state/types.js';

/** What the alert suggests doing about each kind of incident (the decisions the agents take). */
export function suggestedActionFor(kind: Incident['kind']): string {
  switch (kind) {
    case 'stalled':
    case 'crashed':
    case 'oom':
    case 'nccl_hang':
    case 'nan':
      return 'The healer restarts training from the latest checkpoint and verifies the step advances.';
    case 'disk_warning':
    case 'disk_critical':
      return 'The healer deletes old step_*.pt checkpoints, keeping the newest two and latest/best/final.';
    case 'preempted':
      return 'Ops ranks replacement offers: approve one to migrate the run from its latest checkpoint.';
    case 'unreachable':
      return 'Wait one more sweep; if SSH stays down, check the instance in the Vast console.';
    case 'slow':
      return 'Check GPU utilisation and data loading; /train logs <run> shows the trainer output.';
    case 'host_key_changed':
      return 'Do not connect: verify the host out of band before re-pinning its key.';
    default:
      return 'Look at /train status and /train logs for this run.';
  }
}
