// Money in the API: one exact decimal scalar and one Money type with its currency. Amounts
// are never floats: they travel as decimal strings.
import { Kind } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { builder } from '../builder.ts';

const DECIMAL = /^-?\d+(\.\d+)?$/;

export const DecimalResolver = builder.scalarType('Decimal', {
  description:
    'An exact decimal number written as a string, e.g. "1234.500000". Never a float: sums stay exact.',
  serialize: (value) => {
    const text = String(value);
    if (!DECIMAL.test(text)) throw createGraphQLError(`not a decimal: ${text}`);
    return text;
  },
  parseValue: (value) => parseDecimal(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING && ast.kind !== Kind.INT && ast.kind !== Kind.FLOAT)
      throw createGraphQLError('Decimal must be a string such as "12.50"');
    return parseDecimal(ast.value);
  },
});

function parseDecimal(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !DECIMAL.test(text.trim()))
    throw createGraphQLError(`not a decimal number: ${JSON.stringify(value)}`);
  return text.trim();
}

export type Money = { amount: string; currency: string };

export const MoneyRef = builder.objectRef<Money>('Money').implement({
  description: 'An exact amount in a currency (ISO 4217 code, from the policy).',
  fields: (t) => ({
    amount: t.field({ type: DecimalResolver, resolve: (m) => m.amount }),
    currency: t.exposeString('currency'),
  }),
});

/**
 * Money from an amount the evaluator summed as a number: exact to the micro-unit (the
 * store keeps costs as numeric and budgets as integer micro-units; a double holds every
 * micro-unit amount below 9 × 10⁹ exactly).
 */
export function moneyOf(amount: number, currency: string): Money {
  const micros = Math.round(amount * 1_000_000);
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / 1_000_000);
  const fraction = String(abs % 1_000_000).padStart(6, '0');
  return { amount: `${sign}${whole}.${fraction}`, currency };
}
