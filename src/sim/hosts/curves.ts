import type { ModelInfo, TrainingConfig } from './catalog.js';

/**
 * The trainer's numbers as pure functions of the step, so any moment can be computed without
 * replaying the ones before it (a week of training is one function call, not a week of ticks).
 */

/** Deterministic noise in [-1, 1] for a step. */
export function noise(step: number, salt: number): number {
  let h = (Math.imul(step, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return (h / 0xffffffff) * 2 - 1;
}

export function trainLoss(model: ModelInfo, step: number): number {
  return (
    model.lossFloor + 7.5 * Math.exp(-step / 2500) + 0.35 * Math.exp(-step / 20_000) + 0.03 * noise(step, 1)
  );
}

export function evalLoss(model: ModelInfo, step: number): number {
  return model.lossFloor + 7.5 * Math.exp(-step / 2500) + 0.35 * Math.exp(-step / 20_000) + 0.04;
}

/** Linear warm-up, then cosine decay to the minimum at max_steps. */
export function learningRate(model: ModelInfo, cfg: TrainingConfig, step: number): number {
  if (step < cfg.warmupSteps) return (model.lrMax * (step + 1)) / cfg.warmupSteps;
  const progress = Math.min(1, (step - cfg.warmupSteps) / Math.max(1, cfg.maxSteps - cfg.warmupSteps));
  return model.lrMin + 0.5 * (model.lrMax - model.lrMin) * (1 + Math.cos(Math.PI * progress));
}

export function gradNorm(step: number): number {
  return 0.6 + 0.4 * Math.exp(-step / 5000) + 0.1 * Math.abs(noise(step, 2));
}

export function auxLoss(step: number): number {
  return 0.01 + 0.004 * Math.exp(-step / 10_000) + 0.001 * noise(step, 3);
}
