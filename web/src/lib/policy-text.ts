// Board rules as text, from the active policy's IR (irToText is pure and tiny).
import { type IrExpr, irToText } from '../../../src/policy/ir.ts';
import type { BoardRules } from './ranking.ts';

type IrBoard = {
  label: string | null;
  window: string;
  subject: string;
  eligible: IrExpr | null;
  exclude: IrExpr | null;
  score: IrExpr;
  top: number | null;
};

export type BoardInfo = BoardRules & {
  name: string;
  label: string;
  window: string;
  subject: string;
  scoreText: string;
  top: number | null;
};

export function boardsOf(ir: unknown): BoardInfo[] {
  const boards = (ir as { leaderboards?: Record<string, IrBoard> } | null)?.leaderboards ?? {};
  return Object.entries(boards).map(([name, b]) => {
    const eligibleText = b.eligible ? irToText(b.eligible) : null;
    return {
      name,
      label: b.label ?? name,
      window: b.window,
      subject: b.subject,
      top: b.top,
      scoreText: irToText(b.score),
      eligibleText,
      excludeText: b.exclude ? irToText(b.exclude) : null,
      requiresOptIn: eligibleText?.includes('opted_in') ?? false,
    };
  });
}
