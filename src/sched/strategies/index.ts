// The strategies by name, and the portfolio `explore --strategy portfolio` rotates through.
import { PctStrategy } from './pct.ts';
import { RandomStrategy } from './random.ts';
import { NoveltyStrategy } from './novelty.ts';
import type { Strategy, StrategySpec } from './strategy.ts';

export type { SchedView, Strategy, StrategySpec } from './strategy.ts';
export { specName, signalChoice, signalVictim, choiceActor } from './strategy.ts';
export { PctStrategy, pctBound, pctBoundLine, iterationsFor } from './pct.ts';
export { RandomStrategy } from './random.ts';
export { NoveltyStrategy } from './novelty.ts';
export { ReplayStrategy } from './replay.ts';
export { BoundedStrategy } from './bounded.ts';

export const STRATEGY_KINDS = ['pct', 'random', 'portfolio', 'novelty'] as const;
export type StrategyKind = (typeof STRATEGY_KINDS)[number];

export function makeStrategy(s: StrategySpec): Strategy {
  if (s.kind === 'novelty') return new NoveltyStrategy();
  return s.kind === 'pct' ? new PctStrategy(s.depth) : new RandomStrategy();
}

/** A portfolio (as shuttle's PortfolioRunner and Coyote's default run several strategies): PCT at
 * the chosen depth, a random walk, and PCT one shallower and two deeper. Iteration i uses entry
 * i mod 4, so parallel explorers over disjoint iteration sets run different strategies. */
export function portfolio(depth: number): StrategySpec[] {
  return [
    { kind: 'pct', depth },
    { kind: 'random', depth },
    { kind: 'pct', depth: Math.max(1, depth - 1) },
    { kind: 'pct', depth: depth + 2 },
  ];
}

export function strategySpecs(kind: StrategyKind, depth: number): StrategySpec[] {
  if (kind === 'portfolio') return portfolio(depth);
  return [{ kind, depth }];
}
