// Quarterly review commands: publish, activate (and roll back), log, diff and impact.
// Diff and impact take each side as a .policy file or a stored version (`v3`, a version
// label, a hash prefix), or `-` for standard input. As with `git diff`, diff exits 1 for
// changes only with --exit-code; 2 is trouble (a file with errors, an unknown version or
// window, a usage error).
import { existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { type Command, Option } from 'commander';
import { apiEntities } from '../api/entities.ts';
import { auditFor } from '../app/audit.ts';
import { localSession } from '../app/caller.ts';
import { InvalidRequestError, InvalidWindowError, NotFoundError } from '../app/errors.ts';
import { policiesFor } from '../app/policies.ts';
import { policyReviewFor } from '../app/policy-review.ts';
import { IMPACT_FORMATS, type ImpactFormat, renderImpact } from '../engine/impact-render.ts';
import { analyzePolicy } from '../policy/analyze.ts';
import { hasErrors, sortDiagnostics } from '../policy/diagnostics.ts';
import {
  DIFF_FORMATS,
  type DiffFormat,
  type DiffInput,
  diffPolicies,
  renderDiff,
} from '../policy/diff.ts';
import { parsePolicy } from '../policy/parse.ts';
import type { Store } from '../store/db.ts';
import {
  findPolicyVersion,
  type PolicyVersionRow,
  policyLog,
  UnknownVersionError,
} from '../store/policies.ts';
import { displayName, formatOption, legacyJsonOption, readInput, wantsJson } from './output.ts';
import { renderDiagnostic } from './policy-check.ts';
import type { ServerFile } from './server-file.ts';
import { dataDirOption, openCliStore, type StoreFlags, withStore } from './store-options.ts';
import { askServer, serverHolding } from './via-server.ts';

/** Opens the store lazily: diffing two files needs no database. */
function lazyStore(flags: StoreFlags) {
  let opened: Promise<Store> | null = null;
  return {
    get: () => {
      opened ??= openCliStore(flags, { entities: apiEntities });
      return opened;
    },
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}

/** A side that could not be loaded: the message is printed and the command exits 2. */
class SideError extends Error {}

export type LoadedSide = DiffInput & { label: string };

/** A file path, or else a stored version reference. */
async function loadSide(ref: string, store: () => Promise<Store>): Promise<LoadedSide> {
  if (ref === '-' || (existsSync(ref) && statSync(ref).isFile())) {
    const text = readInput(ref);
    ref = displayName(ref);
    const analysis = analyzePolicy(text, ref);
    if (!analysis.ir || hasErrors(analysis.diagnostics)) {
      const shown = sortDiagnostics(analysis.diagnostics.filter((d) => d.severity === 'error'));
      throw new SideError(
        `${shown.map((d) => renderDiagnostic(d, text, ref)).join('\n')}\n${ref}: ${shown.length} error${shown.length === 1 ? '' : 's'}, cannot compare`,
      );
    }
    return { ast: analysis.ast, ir: analysis.ir, label: ref };
  }
  if (/[/\\]|\.policy$/.test(ref)) throw new SideError(`${ref}: no such file`);
  try {
    const row = await findPolicyVersion(await store(), ref);
    // the stored source is parsed again for the canonical text of each declaration
    const { ast } = parsePolicy(row.source, `v${row.id}`);
    return { ast, ir: row.ir, label: `v${row.id} (${row.version})` };
  } catch (error) {
    if (error instanceof UnknownVersionError) throw new SideError(error.message);
    throw error;
  }
}

function fail(message: string): void {
  console.error(message);
  process.exitCode = 2;
}

type PublishFlags = StoreFlags & { activate?: boolean; message?: string; author?: string };
type DiffFlags = StoreFlags & { format: DiffFormat; exitCode?: boolean };
type ImpactFlags = StoreFlags & {
  window: string;
  format: ImpactFormat;
  asRole: 'governance' | 'viewer';
};

type PolicyVersionNode = {
  id: number;
  version: string;
  name: string | null;
  hash: string;
  status: PolicyVersionRow['status'];
  author: string | null;
  message: string | null;
  parent: { id: number } | null;
  createdAt: string;
  activatedAt: string | null;
  activatedBy: string | null;
};

type PolicyPage = {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: PolicyVersionNode }[];
};

/** `policy log`'s rows from the server's `policies`, page by page, newest first. */
async function policyLogThrough(server: ServerFile): Promise<PolicyVersionRow[]> {
  const rows: PolicyVersionRow[] = [];
  let after: string | null = null;
  for (;;) {
    const { policies }: { policies: PolicyPage } = await askServer(
      server,
      `query($after: String) {
        policies(first: 100, after: $after) {
          pageInfo { hasNextPage endCursor }
          edges { node {
            id version name hash status author message parent { id }
            createdAt activatedAt activatedBy
          } }
        }
      }`,
      { after },
    );
    for (const { node: v } of policies.edges) {
      rows.push({
        id: v.id,
        version: v.version,
        name: v.name,
        hash: v.hash,
        status: v.status,
        author: v.author,
        message: v.message,
        parent_id: v.parent?.id ?? null,
        created_at: v.createdAt,
        activated_at: v.activatedAt,
        activated_by: v.activatedBy,
      });
    }
    if (!policies.pageInfo.hasNextPage) return rows;
    after = policies.pageInfo.endCursor;
  }
}

export function registerPolicyReviewCommands(policyGroup: Command): void {
  policyGroup
    .command('publish')
    .description(
      'store a policy file as a new immutable version (nothing new if its meaning is already stored)',
    )
    .argument('<file>', 'the .policy file ("-" reads standard input)')
    .option('--activate', 'make it the active version in the same step')
    .option('--message <text>', 'why this version exists')
    .option('--author <name>', 'who wrote it (default: your login name)')
    .addOption(dataDirOption())
    .action(async (file: string, flags: PublishFlags) => {
      if (file !== '-' && !existsSync(file)) return fail(`${file}: no such file`);
      const source = readInput(file);
      file = displayName(file);
      await withStore(flags, async (store) => {
        const outcome = await policiesFor(store).publish(localSession(store, 'policy publish'), {
          source,
          file,
          author: flags.author ?? userInfo().username ?? null,
          message: flags.message ?? null,
          activate: flags.activate,
        });
        if (outcome.kind === 'invalid') {
          const errors = sortDiagnostics(outcome.diagnostics.filter((d) => d.severity === 'error'));
          for (const d of errors) console.error(renderDiagnostic(d, source, file));
          return fail(`${file}: ${errors.length} error(s), nothing published`);
        }
        if (outcome.kind === 'unchanged') {
          const e = outcome.existing;
          console.log(
            `no semantic change: ${file} means the same as v${e.id} (${e.version}, ${e.status}, hash ${e.hash.slice(0, 12)}); nothing stored`,
          );
          if (outcome.activated) console.log(`activated v${e.id}`);
          return;
        }
        const v = outcome.version;
        console.log(
          `published v${v.id} (${v.version}, hash ${v.hash.slice(0, 12)})${v.parent_id ? `, parent v${v.parent_id}` : ''}`,
        );
        if (outcome.activated) console.log(`activated v${v.id}`);
      });
    });

  policyGroup
    .command('activate')
    .description('make a stored version active (activating an older one is a rollback); audited')
    .argument('<version>', 'v3, 3, a version label or a hash prefix')
    .addOption(dataDirOption())
    .action(async (ref: string, flags: StoreFlags) => {
      await withStore(flags, async (store) => {
        try {
          const { version, before, rollback } = await policiesFor(store).activate(
            localSession(store, 'policy activate'),
            ref,
          );
          if (before?.id === version.id) {
            console.log(`v${version.id} (${version.version}) is already active`);
            return;
          }
          console.log(
            `${rollback ? 'rolled back to' : 'activated'} v${version.id} (${version.version}, hash ${version.hash.slice(0, 12)})` +
              (before ? `; v${before.id} (${before.version}) retired` : ''),
          );
        } catch (error) {
          if (error instanceof NotFoundError || error instanceof InvalidRequestError)
            return fail(`${error.message} (see \`quotient policy log\`)`);
          throw error;
        }
      });
    });

  policyGroup
    .command('log')
    .description('list the stored policy versions, newest first')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(legacyJsonOption())
    .addOption(dataDirOption())
    .action(async (flags: StoreFlags & { format: string; json?: boolean }) => {
      // beside a running quotient serve, through its API (the data directory is its)
      const server = serverHolding(flags);
      const rows = server
        ? await policyLogThrough(server)
        : await withStore(flags, (store) => policyLog(store));
      if (wantsJson(flags)) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      if (rows.length === 0) {
        console.log('no policy versions yet: `quotient policy publish <file>`');
        return;
      }
      for (const r of rows) {
        const mark = r.status === 'active' ? '*' : ' ';
        const when = new Date(r.created_at).toISOString().slice(0, 16).replace('T', ' ');
        console.log(
          `${mark} v${r.id}  ${r.version.padEnd(10)} ${r.status.padEnd(7)} ${r.hash.slice(0, 12)}  ${when}` +
            `  ${r.author ?? '-'}${r.parent_id ? `  parent v${r.parent_id}` : ''}${r.message ? `  "${r.message}"` : ''}`,
        );
      }
    });

  policyGroup
    .command('diff')
    .description('what changed in meaning between two policies')
    .argument(
      '<old>',
      'a .policy file, "-" for standard input, or a stored version (v3, a label, a hash prefix)',
    )
    .argument('<new>', 'a .policy file, "-", or a stored version')
    .addOption(formatOption(DIFF_FORMATS, 'text'))
    .option('--exit-code', 'exit 1 when the meaning changed (0 when it did not), as git diff does')
    .addOption(dataDirOption())
    .action(async (oldRef: string, newRef: string, flags: DiffFlags) => {
      const store = lazyStore(flags);
      try {
        const a = await loadSide(oldRef, store.get);
        const b = await loadSide(newRef, store.get);
        const diff = diffPolicies(a, b);
        process.stdout.write(renderDiff(diff, flags.format));
        process.exitCode = flags.exitCode && !diff.equivalent ? 1 : 0;
      } catch (error) {
        if (error instanceof SideError) return fail(error.message);
        throw error;
      } finally {
        await store.close();
      }
    });

  policyGroup
    .command('impact')
    .description('replay a window of stored usage under two policies and report what would change')
    .argument('<old>', 'a .policy file, "-" for standard input, or a stored version')
    .argument('<new>', 'a .policy file, "-", or a stored version')
    .requiredOption(
      '--window <period>',
      'e.g. 2026-Q3, 2026-10, 2026-W40, last-quarter, last-month',
    )
    .addOption(
      formatOption(
        IMPACT_FORMATS,
        'text',
        'text, json, markdown (with Mermaid charts) or html (a page with SVG charts)',
      ),
    )
    .addOption(
      new Option('--as-role <role>', 'whose view: governance sees names, viewer sees pseudonyms')
        .choices(['governance', 'viewer'])
        .default('viewer'),
    )
    .addOption(dataDirOption())
    .action(async (oldRef: string, newRef: string, flags: ImpactFlags) => {
      const store = lazyStore(flags);
      try {
        const a = await loadSide(oldRef, store.get);
        const b = await loadSide(newRef, store.get);
        const s = await store.get();
        // the API's policyImpact for the role asked (src/app/policy-review.ts): a governance
        // replay names people and is audited, as the local operator; a viewer's is aggregates
        const caller = {
          keyId: 'local',
          name: 'quotient policy impact',
          role: flags.asRole === 'governance' ? ('governance' as const) : ('viewer' as const),
          person: null,
        };
        const report = await policyReviewFor(s).replay(
          { caller, audit: auditFor(s, caller) },
          a,
          b,
          flags.window,
        );
        process.stdout.write(renderImpact(report, flags.format));
      } catch (error) {
        if (error instanceof SideError || error instanceof InvalidWindowError)
          return fail(error.message);
        throw error;
      } finally {
        await store.close();
      }
    });
}
