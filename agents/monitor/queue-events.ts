import type { Queues } from '../../src/queues/queues.js';
import type { IncidentEvent, IncidentEvents } from './events.js';

/**
 * Publishes incident changes as queue jobs: notify (Slack alert) for every change, conductor for
 * escalations. Job ids make a re-published change (a retried sweep) one job, not two.
 */
export function queueIncidentEvents(
  queues: Queues,
  hooks: { onOpened?: (incident: IncidentEvent['incident']) => Promise<unknown> } = {},
): IncidentEvents {
  return {
    async publish({ incident, change }) {
      if (change === 'opened') await hooks.onOpened?.(incident);
      const id = `incident-${incident.id}-${change}-${change === 'updated' ? incident.count : 0}`;
      await queues.enqueue(
        'notify',
        'incident',
        { kind: 'incident', incidentId: incident.id, change },
        { jobId: id },
      );
      if (change === 'escalated') {
        await queues.enqueue(
          'conductor',
          'escalation',
          { kind: 'escalation', incidentId: incident.id },
          { jobId: `escalation-${incident.id}` },
        );
      }
    },
  };
}
