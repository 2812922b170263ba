// Operator binding strength in the policy language, shared by the parser (precedence
// climbing) and the formatter (which parentheses the meaning needs). Higher binds tighter.
import type { BinaryOp } from './ast.ts';

export const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  '==': 4,
  '!=': 4,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
};
/** `not x` binds looser than comparisons: `not a == b` is `not (a == b)`. */
export const NOT_LEVEL = 3;
export const COMPARISON = 4;
export const ADDITIVE = 5;
/** unary minus */
export const NEGATE_LEVEL = 7;
