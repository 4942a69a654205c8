/** The conductor's rule-based decisions (pure): what to do about a run's health. */
export { decide } from './decide.js';
export type {
  Decision,
  DecisionAction,
  DecisionInput,
  DecisionJob,
  DecisionMode,
  PastFix,
} from './types.js';
