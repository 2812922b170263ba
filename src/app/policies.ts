// Publishing and activating policy versions (governance): `publishPolicy` and
// `activatePolicy` over GraphQL and `quotient policy publish|activate` come here. A text
// whose meaning is already stored publishes nothing; activation happens in one transaction
// with its audit entry (src/store/policies.ts).

import type { Store } from '../store/db.ts';
import { unstorableTextProblem } from '../store/ingest/limits.ts';
import {
  type Actor,
  activatePolicy,
  findPolicyVersion,
  LOCAL_ACTOR,
  type PolicyVersionRow,
  type PublishOutcome,
  policyLog,
  publishPolicySource,
  UnknownVersionError,
} from '../store/policies.ts';
import { boardSnapshotsFor } from './board-snapshots.ts';
import { warmLeaderboards } from './boards.ts';
import { LOCAL_KEY_ID, type Session } from './caller.ts';
import { type FieldProblem, ForbiddenError, InvalidRequestError, NotFoundError } from './errors.ts';
import { can } from './roles.ts';

export type PublishInput = {
  source: string;
  /** the file name diagnostics point at */
  file?: string;
  author?: string | null;
  message?: string | null;
  activate?: boolean;
};

export type Activation = {
  version: PolicyVersionRow;
  /** the version that was active before (null: none); equal ids mean nothing changed */
  before: PolicyVersionRow | null;
  rollback: boolean;
};

export type Policies = {
  publish(session: Session, input: PublishInput): Promise<PublishOutcome>;
  /** `ref`: v3, 3, a version label or a hash prefix (see findPolicyVersion) */
  activate(session: Session, ref: string): Promise<Activation>;
};

function actorOf({ caller }: Session): Actor {
  return caller.keyId === LOCAL_KEY_ID
    ? LOCAL_ACTOR
    : { id: caller.keyId, role: caller.role, name: caller.name };
}

/** Text the version row could not hold (a NUL, a lone surrogate), with its line in the source. */
function unstorableFields(input: PublishInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const source = unstorableTextProblem(input.source);
  if (source) {
    const line = input.source.split('\n').findIndex((text) => unstorableTextProblem(text)) + 1;
    problems.push({ field: 'source', message: `line ${line} ${source}` });
  }
  for (const field of ['message', 'author'] as const) {
    const problem = unstorableTextProblem(input[field] ?? '');
    if (problem) problems.push({ field, message: problem });
  }
  return problems;
}

/**
 * Where boards are persisted (`quotient serve`), a newly active version's boards are
 * evaluated at once, in the background: they are persisted, so the first board request of
 * the next fresh server does not evaluate them either.
 */
function evaluateBoardsOf(store: Store): void {
  if (boardSnapshotsFor(store).enabled) warmLeaderboards(store).catch(() => {});
}

function mustGovern(session: Session, what: string): void {
  if (!can(session.caller.role, 'governance'))
    throw new ForbiddenError(`role "${session.caller.role}" may not ${what} (governance or admin)`);
}

export function policiesFor(store: Store): Policies {
  return {
    async publish(session, input) {
      mustGovern(session, 'publish policies');
      const unstorable = unstorableFields(input);
      if (unstorable.length > 0) throw new InvalidRequestError(unstorable);
      const outcome = await publishPolicySource(store, {
        ...input,
        author: input.author ?? `${session.caller.name} (${session.caller.keyId})`,
        actor: actorOf(session),
      });
      if (outcome.kind !== 'invalid' && outcome.activated) evaluateBoardsOf(store);
      return outcome;
    },
    async activate(session, ref) {
      mustGovern(session, 'activate policies');
      let target: { id: number };
      try {
        target = await findPolicyVersion(store, ref);
      } catch (error) {
        if (!(error instanceof UnknownVersionError)) throw error;
        if (error.message.includes('ambiguous'))
          throw new InvalidRequestError([{ field: 'version', message: error.message }]);
        throw new NotFoundError('policy version', ref);
      }
      const before = (await policyLog(store)).find((r) => r.status === 'active') ?? null;
      if (before?.id === target.id) return { version: before, before, rollback: false };
      const version = await activatePolicy(store, target.id, actorOf(session));
      evaluateBoardsOf(store);
      return { version, before, rollback: before !== null && version.id < before.id };
    },
  };
}
