import { ackScenario } from './scenarios/ack.js';
import { campaignScenario } from './scenarios/campaign.js';
import { conductorScenario } from './scenarios/conductor.js';
import { hostsScenario } from './scenarios/hosts.js';
import { loadScenario } from './scenarios/load.js';
import { recoveryScenario } from './scenarios/recovery.js';
import { sweepScenario } from './scenarios/sweep.js';
import type { BenchScenario } from './types.js';

/** Every benchmark scenario, in the order `npm run bench` runs them. */
export const SCENARIOS: readonly BenchScenario[] = [
  hostsScenario,
  sweepScenario,
  ackScenario,
  conductorScenario,
  recoveryScenario,
  loadScenario,
  campaignScenario,
];
