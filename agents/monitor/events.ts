import type { Incident } from '../../src/state/types.js';

/** An incident change, published for the notify and conductor sides. */
export interface IncidentEvent {
  incident: Incident;
  change: 'opened' | 'updated' | 'resolved' | 'escalated';
}

export interface IncidentEvents {
  publish(event: IncidentEvent): Promise<void>;
}

/** Collects events in memory: for tests and for the benchmark's baseline. */
export function recordingEvents(): IncidentEvents & { events: IncidentEvent[] } {
  const events: IncidentEvent[] = [];
  return {
    events,
    async publish(event) {
      events.push(event);
    },
  };
}
