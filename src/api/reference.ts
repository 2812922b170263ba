// docs/api-reference.md, generated from the schema and the role table (`npm run schema`
// writes it beside schema.graphql; a test fails when it is stale): every query, mutation and
// subscription with its arguments, result, description and the roles that may call it.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GraphQLField, GraphQLObjectType } from 'graphql/index.js';
import { CAPABILITIES, type Capability, ROLES } from '../app/roles.ts';
import { schema } from './schema/index.ts';

export const API_REFERENCE_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../docs/api-reference.md',
);

const cell = (text: string) => text.replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');

/** The roles a field's scope-auth admits, from its `authScopes` and the role table. */
function rolesOf(field: GraphQLField<unknown, unknown>): string {
  const options = (field.extensions as { pothosOptions?: { authScopes?: unknown } } | undefined)
    ?.pothosOptions;
  const scopes = options?.authScopes;
  if (scopes === undefined) return 'any key';
  if (typeof scopes === 'function') return 'decided per call (see the description)';
  // `$any: { … }` nests alternatives
  const flatten = (x: object): string[] =>
    Object.entries(x).flatMap(([k, v]) =>
      k.startsWith('$') && v && typeof v === 'object' ? flatten(v) : [k],
    );
  const capabilities = flatten(scopes as object).filter((c): c is Capability => c in CAPABILITIES);
  if (capabilities.length === 0) return 'decided per call (see the description)';
  const roles = ROLES.filter((r) =>
    capabilities.some((c) => (CAPABILITIES[c] as readonly string[]).includes(r)),
  );
  return `${roles.join(', ')} (${capabilities.map((c) => `\`${c}\``).join(' or ')})`;
}

function signature(field: GraphQLField<unknown, unknown>): string {
  const args = field.args.map((a) => `${a.name}: ${String(a.type)}`).join(', ');
  return `${field.name}${args ? `(${args})` : ''}: ${String(field.type)}`;
}

function operations(title: string, type: GraphQLObjectType | null | undefined): string[] {
  if (!type) return [];
  const fields = Object.values(type.getFields()).sort((a, b) => a.name.localeCompare(b.name));
  return [
    `## ${title}`,
    '',
    '| field | roles | what |',
    '|---|---|---|',
    ...fields.map(
      (f) => `| \`${cell(signature(f))}\` | ${cell(rolesOf(f))} | ${cell(f.description ?? '')} |`,
    ),
    '',
  ];
}

export function apiReferenceMarkdown(): string {
  const roleTable = [
    `| capability | ${ROLES.join(' | ')} |`,
    `|---|${ROLES.map(() => ':---:').join('|')}|`,
    ...(Object.entries(CAPABILITIES) as [Capability, readonly string[]][]).map(
      ([capability, roles]) =>
        `| \`${capability}\` | ${ROLES.map((r) => (roles.includes(r) ? '✓' : '')).join(' | ')} |`,
    ),
  ];
  return [
    '# GraphQL API reference',
    '',
    'Generated from the schema (`schema.graphql`) and the role table (`src/app/roles.ts`) by',
    '`npm run schema`; do not edit. The guide to the API (endpoints, errors, paging, privacy)',
    'is [api.md](api.md); what each read shows below governance is [privacy.md](privacy.md).',
    '',
    '## Roles and capabilities',
    '',
    'A field names the capabilities it needs; a key holds the capabilities of its role. A',
    'field marked "decided per call" checks the caller in its use case (for example a member',
    'reading only their own person).',
    '',
    ...roleTable,
    '',
    ...operations('Queries', schema.getQueryType()),
    ...operations('Mutations', schema.getMutationType()),
    ...operations('Subscriptions', schema.getSubscriptionType()),
  ].join('\n');
}
