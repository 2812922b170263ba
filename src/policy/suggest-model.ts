// What to add to a policy so that an unpriced provider name gets a price: the pattern for
// the declared model it is a variant of, or a new model declaration. The base name is the
// provider's name without its routing decorations, as the providers write them: a gateway
// prefix (LiteLLM, OpenRouter: `anthropic/…`), a Bedrock region and vendor prefix
// (`us.anthropic.…`) and version suffix (`-v1:0`), a Vertex snapshot (`…@20250929`), and a
// dated snapshot (`-20250929`, `-2024-08-06`).
import { type PriceTable, resolveModel } from './price.ts';

/** The model name a provider's name is a variant of: "us.anthropic.claude-x-20250929-v1:0" → "claude-x". */
export function baseModelName(name: string): string {
  let base = name.slice(name.lastIndexOf('/') + 1);
  base = base.replace(/^(?:[a-z]{2,6}\.)?(?:anthropic|meta|amazon|mistral|cohere|ai21)\./, '');
  base = base.replace(/-v\d+(?::\d+)?$/, '');
  base = base.replace(/@.*$/, '');
  base = base.replace(/-(?:20\d{6}|20\d{2}-\d{2}-\d{2})$/, '');
  return base === '' ? name : base;
}

/** A glob covering `name` and its sibling snapshots: the date part and prefix left open. */
function patternFor(name: string, base: string): string {
  if (name === base) return name;
  const at = name.indexOf(base);
  if (at < 0) return name;
  const before = at > 0 ? '*' : '';
  const rest = name.slice(at + base.length);
  const after =
    rest === '' ? '' : rest.startsWith('@') ? '@*' : rest.startsWith('-2') ? '-2*' : '-*';
  return `${before}${base}${after}`;
}

/**
 * The declaration that would price `name`: a `matches` pattern for the declared model it
 * is a variant of, or a new model (its class and prices left for the writer to fill in).
 */
export function declarationToAdd(prices: PriceTable, name: string): string {
  const base = baseModelName(name);
  const pattern = patternFor(name, base);
  if (resolveModel(prices, base) !== null && base !== name) {
    return `add "${pattern}" to the matches of model "${resolveModel(prices, base)}"`;
  }
  const patterns = pattern === base ? '' : ` matches "${pattern}"`;
  return `model "${base}" class <class>${patterns} price { input <per 1M> output <per 1M> }`;
}
