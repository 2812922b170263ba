// The policy language server: diagnostics as you type (syntax and checker, with codes and
// hints), hover, completion, definition, references, rename, document symbols, formatting
// and quick fixes for did-you-mean hints. It uses only src/policy; its only I/O is the
// protocol connection it is given.
import {
  CodeActionKind,
  CompletionItemKind,
  type Connection,
  DiagnosticSeverity,
  type Diagnostic as LspDiagnostic,
  type Range as LspRange,
  SymbolKind as LspSymbolKind,
  MarkupKind,
  TextDocumentSyncKind,
  TextDocuments,
  TextEdit,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import * as T from '../../grammar/tokens.ts';
import { analyzePolicy } from '../policy/analyze.ts';
import type { Declaration, Range } from '../policy/ast.ts';
import { checkPolicy } from '../policy/check/index.ts';
import {
  FACTS,
  FUNCTIONS,
  PERSON_ATTRIBUTES,
  TEAM_ATTRIBUTES,
} from '../policy/check/vocabulary.ts';
import { diagnosticInfo, hasErrors } from '../policy/diagnostics.ts';
import { formatPolicy } from '../policy/format.ts';
import { DETECTORS } from '../policy/ir.ts';
import {
  definitionOf,
  indexPolicy,
  occurrences,
  type PolicyIndex,
  type SymbolKind,
  symbolAt,
} from './symbols.ts';

/** What each fact counts, for hover and completion. */
const FACT_MEANING: Readonly<Record<string, string>> = {
  tokens: 'all tokens: input, output and cache reads and writes',
  input_tokens: 'prompt tokens sent to the model (not read from the cache)',
  output_tokens: 'tokens the model generated',
  cache_read_tokens: 'prompt tokens read from the prompt cache',
  cache_write_tokens: 'prompt tokens written to the prompt cache',
  cost: 'the priced cost of usage, in the policy currency',
  requests: 'model calls',
  tasks: 'tasks with a reported outcome',
  accepted: 'outcomes accepted',
  rejected: 'outcomes rejected',
  reworked: 'outcomes reworked',
  completed: 'outcomes completed',
  minutes_saved: 'minutes saved, as reported with outcomes',
  redaction_failures: 'compliance flags: redaction failures',
  sensitive_flags: 'compliance flags: sensitive data',
  policy_exceptions: 'compliance flags: policy exceptions',
  active_days: 'days with any usage',
  sessions: 'Claude Code sessions (core_metrics), per report day',
  lines_added: 'lines of code added with Claude Code (core_metrics)',
  lines_removed: 'lines of code removed with Claude Code (core_metrics)',
  commits: 'commits made with Claude Code (core_metrics)',
  pull_requests: 'pull requests made with Claude Code (core_metrics)',
};

const DECLARATION_KEYWORDS = [
  'policy',
  'currency',
  'timezone',
  'privacy',
  'exceptions',
  'class',
  'model',
  'measure',
  'metric',
  'leaderboard',
  'badge',
  'season',
  'tier',
  'assign',
  'budget',
  'escalation',
  'rule',
  'test',
];
const LEADERBOARD_CLAUSES = [
  'subject',
  'window',
  'cohort',
  'eligible when',
  'exclude when',
  'score =',
  'top',
];
const TEST_CLAUSES = ['now', 'given person', 'given team', 'expect'];
const RULE_CLAUSES = ['subject', 'detect', 'when', 'then'];
const EXPECTATIONS = [
  'tier',
  'score',
  'metric',
  'band quota',
  'band budget',
  'rank',
  'eligible',
  'not eligible',
  'badge',
  'not badge',
  'fires',
  'not fires',
];

type Analyzed = {
  text: string;
  analysis: ReturnType<typeof analyzePolicy>;
  index: PolicyIndex;
  units: Record<string, string>;
};

function toLsp(range: Range): LspRange {
  return {
    start: { line: range.start.line - 1, character: range.start.column - 1 },
    end: { line: range.end.line - 1, character: range.end.column - 1 },
  };
}

const SEVERITY = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
} as const;

/** `replace with \`x\`` and `did you mean \`x\`?` hints name the fix. */
function suggestedReplacement(text: string | undefined): string | undefined {
  if (!text) return undefined;
  return /replace with `([^`]+)`/.exec(text)?.[1] ?? /did you mean `([^`]+)`\?/.exec(text)?.[1];
}

function declarationDetail(d: Declaration, text: string): string {
  return text.slice(d.range.start.offset, d.range.end.offset).split('\n')[0];
}

export function startLanguageServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const cache = new Map<string, { version: number; analyzed: Analyzed }>();

  const analyzed = (uri: string): Analyzed | undefined => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const hit = cache.get(uri);
    if (hit && hit.version === doc.version) return hit.analyzed;
    const text = doc.getText();
    const analysis = analyzePolicy(text);
    const units = hasErrors(analysis.diagnostics) ? {} : checkPolicy(analysis.ast).metricUnits;
    const result = { text, analysis, index: indexPolicy(analysis.ast), units };
    cache.set(uri, { version: doc.version, analyzed: result });
    return result;
  };

  const offsetAt = (uri: string, position: { line: number; character: number }) =>
    documents.get(uri)?.offsetAt(position) ?? 0;

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      completionProvider: { triggerCharacters: [' ', '.'] },
      definitionProvider: true,
      referencesProvider: true,
      renameProvider: { prepareProvider: true },
      documentSymbolProvider: true,
      documentFormattingProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
    serverInfo: { name: 'quotient-policy' },
  }));

  documents.onDidChangeContent(({ document }) => {
    const a = analyzed(document.uri);
    if (!a) return;
    const diagnostics: LspDiagnostic[] = a.analysis.diagnostics.map((d) => ({
      range: toLsp(d.range),
      severity: SEVERITY[d.severity],
      code: d.code,
      source: 'quotient',
      message: d.hint ? `${d.message}\nhint: ${d.hint}` : d.message,
      data: { hint: d.hint ?? null, title: diagnosticInfo(d.code)?.title ?? null },
    }));
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics });
  });
  documents.onDidClose(({ document }) => {
    cache.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onHover(({ textDocument, position }) => {
    const a = analyzed(textDocument.uri);
    if (!a) return null;
    const offset = offsetAt(textDocument.uri, position);
    const symbol = symbolAt(a.index, offset);
    if (symbol) {
      const def = definitionOf(a.index, symbol.kind, symbol.name);
      if (!def) return null;
      return {
        contents: { kind: MarkupKind.Markdown, value: hoverOf(def.kind, def.declaration, a) },
        range: toLsp(symbol.range),
      };
    }
    const word = wordAt(a.text, offset);
    if (word && FACTS[word.text]) {
      return {
        contents: {
          kind: MarkupKind.Markdown,
          value: `**fact** \`${word.text}\`: ${FACT_MEANING[word.text] ?? ''}\n\nunit: ${FACTS[word.text]}`,
        },
      };
    }
    if (word && FUNCTIONS[word.text]) {
      const fn = FUNCTIONS[word.text];
      return {
        contents: {
          kind: MarkupKind.Markdown,
          value: `**function** \`${word.text}\`: ${fn.min === fn.max ? fn.min : `${fn.min} to ${fn.max}`} argument(s)`,
        },
      };
    }
    return null;
  });

  connection.onCompletion(({ textDocument, position }) => {
    const a = analyzed(textDocument.uri);
    const doc = documents.get(textDocument.uri);
    if (!a || !doc) return [];
    const line = doc.getText({ start: { line: position.line, character: 0 }, end: position });
    const names = (kind: SymbolKind, item: CompletionItemKind) =>
      a.index.definitions
        .filter((d) => d.kind === kind)
        .map((d) => ({ label: d.name, kind: item, detail: kind }));
    const keywords = (words: readonly string[]) =>
      words.map((w) => ({ label: w, kind: CompletionItemKind.Keyword }));
    const block = enclosingBlock(a.analysis.ast.declarations, doc.offsetAt(position));
    if (/\bmodels\s+([\w,\s]*)$/.test(line) || /^\s*model\s+"[^"]*"\s+class\s+\w*$/.test(line))
      return [
        ...names('class', CompletionItemKind.Class),
        { label: 'any', kind: CompletionItemKind.Keyword },
      ];
    if (
      /^\s*assign\s+\w*$/.test(line) ||
      /\bexpect\s+(?:(?:person|team)\s+"[^"]*"\s+)?tier\s+\w*$/.test(line)
    )
      return names('tier', CompletionItemKind.EnumMember);
    if (
      /\bexpect\s+(?:(?:person|team)\s+"[^"]*"\s+)?(?:score|rank|(?:not\s+)?eligible)\s+\w*$/.test(
        line,
      )
    )
      return names('leaderboard', CompletionItemKind.Struct);
    if (/\bexpect\s+(?:(?:person|team)\s+"[^"]*"\s+)?metric\s+\w*$/.test(line))
      return names('metric', CompletionItemKind.Function);
    if (/\bexpect\s+(?:(?:person|team)\s+"[^"]*"\s+)?(?:not\s+)?fires\s+\w*$/.test(line))
      return [...names('rule', CompletionItemKind.Event), ...keywords(['quota at', 'budget at'])];
    if (/\bexpect\s+(?:(?:person|team)\s+"[^"]*"\s+)?\w*$/.test(line))
      return keywords(EXPECTATIONS);
    if (/^\s*detect\s+\w*$/.test(line)) return keywords(DETECTORS);
    if (/^\s*model\s+"[^"]*$/.test(line)) return names('model', CompletionItemKind.Value);
    if (/\bteam\.\w*$/.test(line))
      return Object.keys(TEAM_ATTRIBUTES).map((n) => ({
        label: n,
        kind: CompletionItemKind.Property,
      }));
    if (/^\s*\w*$/.test(line)) {
      if (block?.kind === 'Leaderboard') return keywords(LEADERBOARD_CLAUSES);
      if (block?.kind === 'Test') return keywords(TEST_CLAUSES);
      if (block?.kind === 'Rule') return keywords(RULE_CLAUSES);
      if (block?.kind === 'Escalation') return keywords(['at', 'forecast']);
      if (!block) return keywords(DECLARATION_KEYWORDS);
    }
    // inside a formula: metrics, facts, attributes and functions
    return [
      ...names('metric', CompletionItemKind.Function),
      ...names('measure', CompletionItemKind.Field),
      ...Object.keys(FACTS).map((n) => ({
        label: n,
        kind: CompletionItemKind.Field,
        detail: `fact (${FACTS[n]})`,
        documentation: FACT_MEANING[n],
      })),
      ...Object.keys(PERSON_ATTRIBUTES).map((n) => ({
        label: n,
        kind: CompletionItemKind.Property,
      })),
      ...Object.keys(FUNCTIONS).map((n) => ({ label: n, kind: CompletionItemKind.Method })),
      ...keywords(['within', 'if', 'then', 'else', 'and', 'or', 'not', 'in']),
    ];
  });

  connection.onDefinition(({ textDocument, position }) => {
    const a = analyzed(textDocument.uri);
    if (!a) return null;
    const symbol = symbolAt(a.index, offsetAt(textDocument.uri, position));
    const def = symbol && definitionOf(a.index, symbol.kind, symbol.name);
    return def ? { uri: textDocument.uri, range: toLsp(def.nameRange) } : null;
  });

  connection.onReferences(({ textDocument, position, context }) => {
    const a = analyzed(textDocument.uri);
    if (!a) return [];
    const symbol = symbolAt(a.index, offsetAt(textDocument.uri, position));
    if (!symbol) return [];
    const all = occurrences(a.index, symbol.kind, symbol.name);
    const def = definitionOf(a.index, symbol.kind, symbol.name);
    return all
      .filter((r) => context.includeDeclaration || r !== def?.nameRange)
      .map((r) => ({ uri: textDocument.uri, range: toLsp(r) }));
  });

  connection.onPrepareRename(({ textDocument, position }) => {
    const a = analyzed(textDocument.uri);
    const symbol = a && symbolAt(a.index, offsetAt(textDocument.uri, position));
    return symbol ? { range: toLsp(symbol.range), placeholder: symbol.name } : null;
  });

  connection.onRenameRequest(({ textDocument, position, newName }) => {
    const a = analyzed(textDocument.uri);
    const symbol = a && symbolAt(a.index, offsetAt(textDocument.uri, position));
    if (!a || !symbol) return null;
    const quoted = symbol.kind === 'model' || symbol.kind === 'test';
    if (!quoted && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(newName)) {
      throw new Error(
        `\`${newName}\` is not a name: letters, digits and _, not starting with a digit`,
      );
    }
    if (!quoted && T.reservedWords.has(newName)) {
      throw new Error(`\`${newName}\` is a reserved word`);
    }
    const edits = occurrences(a.index, symbol.kind, symbol.name).map((r) =>
      TextEdit.replace(toLsp(r), newName),
    );
    return { changes: { [textDocument.uri]: edits } };
  });

  connection.onDocumentSymbol(({ textDocument }) => {
    const a = analyzed(textDocument.uri);
    if (!a) return [];
    return a.index.definitions.map((d) => ({
      name: d.name,
      detail: d.kind === 'test' ? 'test' : declarationDetail(d.declaration, a.text),
      kind: SYMBOL_KIND[d.kind],
      range: toLsp(d.declaration.range),
      selectionRange: toLsp(d.nameRange),
    }));
  });

  connection.onDocumentFormatting(({ textDocument }) => {
    const a = analyzed(textDocument.uri);
    const doc = documents.get(textDocument.uri);
    if (!a || !doc) return [];
    // never rewrite what could not be fully read: the output would lose text
    if (a.analysis.diagnostics.some((d) => d.severity === 'error' && /^Q[12]/.test(d.code)))
      return [];
    const formatted = formatPolicy(a.analysis.ast);
    if (formatted === a.text) return [];
    return [
      TextEdit.replace({ start: doc.positionAt(0), end: doc.positionAt(a.text.length) }, formatted),
    ];
  });

  connection.onCodeAction(({ textDocument, context }) => {
    const actions = [];
    for (const d of context.diagnostics) {
      const hint = (d.data as { hint?: string | null } | undefined)?.hint ?? undefined;
      const replacement = suggestedReplacement(hint) ?? suggestedReplacement(d.message);
      if (!replacement) continue;
      actions.push({
        title: `Replace with \`${replacement}\``,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: true,
        edit: { changes: { [textDocument.uri]: [TextEdit.replace(d.range, replacement)] } },
      });
    }
    return actions;
  });

  documents.listen(connection);
  connection.listen();
}

const SYMBOL_KIND: Record<SymbolKind, LspSymbolKind> = {
  class: LspSymbolKind.Class,
  model: LspSymbolKind.Constant,
  measure: LspSymbolKind.Field,
  metric: LspSymbolKind.Function,
  badge: LspSymbolKind.Object,
  season: LspSymbolKind.Interface,
  leaderboard: LspSymbolKind.Struct,
  tier: LspSymbolKind.EnumMember,
  rule: LspSymbolKind.Event,
  test: LspSymbolKind.Method,
};

function wordAt(text: string, offset: number): { text: string } | undefined {
  let start = offset;
  while (start > 0 && /\w/.test(text[start - 1])) start--;
  let end = offset;
  while (end < text.length && /\w/.test(text[end])) end++;
  return end > start ? { text: text.slice(start, end) } : undefined;
}

function enclosingBlock(
  declarations: readonly Declaration[],
  offset: number,
): Declaration | undefined {
  return declarations.find((d) => d.range.start.offset < offset && offset < d.range.end.offset);
}

function source(text: string, range: Range): string {
  return text.slice(range.start.offset, range.end.offset);
}

function hoverOf(kind: SymbolKind, d: Declaration, a: Analyzed): string {
  switch (d.kind) {
    case 'Metric': {
      const unit = a.units[d.name.text];
      return [
        `**metric** \`${d.name.text}\`${d.label ? ` ${d.label.value}` : ''}`,
        '```policy',
        `${d.name.text} = ${source(a.text, d.formula.range)}`,
        '```',
        unit ? `unit: ${unit === '1' ? 'dimensionless' : unit}` : '',
      ].join('\n');
    }
    case 'Model': {
      const prices = d.prices.map((p) => `${p.priceKind} ${p.amount.raw}`).join(', ');
      return `**model** \`${d.model.value}\`, class \`${d.className.text}\`\n\n${prices ? `prices per 1M tokens: ${prices}` : 'no prices: usage of this model is unpriced'}`;
    }
    case 'Measure':
      return `**measure** \`${d.name.text}\`${d.label ? ` ${d.label.value}` : ''}\n\nunit ${d.unit?.text ?? '?'}, aggregate ${d.aggregate === 'percentile' ? `percentile ${d.percentile?.raw ?? '?'}` : (d.aggregate ?? '?')}`;
    case 'Class':
      return `**class** \`${d.name.text}\`${d.label ? `: ${d.label.value}` : ''}`;
    case 'Tier':
      return `**tier** \`${d.name.text}\`${d.label ? `: ${d.label.value}` : ''}\n\n${d.limit ? `limit ${d.limit.raw} tokens per ${d.period ?? '?'}` : ''}`;
    default:
      return `**${kind}** ${'\n```policy\n'}${declarationDetail(d, a.text)}\n\`\`\``;
  }
}
