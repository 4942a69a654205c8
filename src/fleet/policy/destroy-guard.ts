/**
 * Rule 7: never destroy an instance while it holds the only live copy of a run's progress. It may
 * go once its replacement (a different instance) is verified training with the step advancing
 * PAST the checkpoint it resumed from, or once the run is complete and its final checkpoint is
 * backed up. Anything else, including malformed input, is refused.
 */

export interface DestroyGuardInput {
  run: string;
  instanceId: number;
  runComplete: boolean;
  finalCheckpointBackedUp: boolean;
  replacement?: {
    instanceId: number;
    verifiedTraining: boolean;
    resumedStep: number;
    currentStep: number;
  };
}

export type DestroyCheck = { ok: true; reason: string } | { ok: false; reason: string };

function isInstanceId(id: unknown): id is number {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

function isStep(step: unknown): step is number {
  return typeof step === 'number' && Number.isSafeInteger(step) && step >= 0;
}

/** Why the replacement does not (yet) make the old instance expendable, or null when it does. */
function replacementProblem(input: DestroyGuardInput): string | null {
  const r = input.replacement;
  if (!r) return 'there is no replacement';
  if (!isInstanceId(r.instanceId))
    return `replacement id ${JSON.stringify(r.instanceId)} is not an instance id`;
  if (r.instanceId === input.instanceId) return 'the replacement is the same instance';
  if (r.verifiedTraining !== true) return `replacement ${r.instanceId} is not verified training`;
  if (!isStep(r.resumedStep) || !isStep(r.currentStep)) {
    return `replacement ${r.instanceId} reports no valid steps`;
  }
  if (r.currentStep <= r.resumedStep) {
    return `replacement ${r.instanceId} is at step ${r.currentStep}, not past its resumed step ${r.resumedStep}`;
  }
  return null;
}

export function checkDestroyAllowed(input: DestroyGuardInput): DestroyCheck {
  const target = `instance ${input.instanceId} of ${input.run}`;
  if (!isInstanceId(input.instanceId)) {
    return {
      ok: false,
      reason: `refusing to destroy: ${JSON.stringify(input.instanceId)} is not an instance id`,
    };
  }
  if (input.runComplete === true && input.finalCheckpointBackedUp === true) {
    return { ok: true, reason: `${input.run} is complete and its final checkpoint is backed up` };
  }
  const problem = replacementProblem(input);
  const r = input.replacement;
  if (problem === null && r) {
    return {
      ok: true,
      reason: `replacement ${r.instanceId} is training past step ${r.resumedStep} (now ${r.currentStep})`,
    };
  }
  const completion =
    input.runComplete === true
      ? 'the run is complete but its final checkpoint is not backed up'
      : 'the run is not complete';
  return { ok: false, reason: `refusing to destroy ${target}: ${completion} and ${problem}` };
}
