/**
 * Every Redis key the state layer uses, under one prefix, in one place (so a reader can see the
 * whole layout, and tests can clean up by prefix). Run names are SAFE_NAME (no `:`), so they can
 * sit inside keys without escaping.
 */
export interface StateKeys {
  run(name: string): string;
  runIndex: string;
  health(run: string): string;
  /** Hash of one incident. */
  incident(id: string): string;
  /** Prefix of incident hashes, for Lua scripts that only learn the id inside Redis. */
  incidentPrefix: string;
  /** The id of the open incident of (run, kind), if any. */
  openIncident(run: string, kind: string): string;
  openIncidentPrefix: string;
  openIncidents: string;
  /** Sorted set: incident id scored by the time it opened, for the recurring rule. */
  incidentHistory(run: string, kind: string): string;
  proposal(id: string): string;
  /** Outlives the proposal body: remembers that an id existed, when it expires, or that it was used. */
  proposalState(id: string): string;
  meta(key: string): string;
  once(key: string): string;
  journal: string;
  journalExportLock: string;
}

export function stateKeys(prefix: string): StateKeys {
  return {
    run: (name) => `${prefix}:run:${name}`,
    runIndex: `${prefix}:runs`,
    health: (run) => `${prefix}:health:${run}`,
    incident: (id) => `${prefix}:incident:${id}`,
    incidentPrefix: `${prefix}:incident:`,
    openIncident: (run, kind) => `${prefix}:incident-open:${run}:${kind}`,
    openIncidentPrefix: `${prefix}:incident-open:`,
    openIncidents: `${prefix}:incidents:open`,
    incidentHistory: (run, kind) => `${prefix}:incident-history:${run}:${kind}`,
    proposal: (id) => `${prefix}:proposal:${id}`,
    proposalState: (id) => `${prefix}:proposal-state:${id}`,
    meta: (key) => `${prefix}:meta:${key}`,
    once: (key) => `${prefix}:once:${key}`,
    journal: `${prefix}:journal`,
    journalExportLock: `${prefix}:lock:journal-export`,
  };
}
