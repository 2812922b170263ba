// The directory: people and teams as this caller may see them, directory upserts (patches)
// and opt-in changes. Below governance, restricted teams and their members are absent,
// people are directory-scoped pseudonyms with no identifying fields, and team owners are
// not shown. Changes that move someone in or out of a privacy rule (a person's team or
// consent, a team's sensitivity) need governance and are audited with the key.
import { createHmac } from 'node:crypto';
import type { Store } from '../store/db.ts';
import {
  childrenOfTeams,
  membersOfTeams,
  type PersonRow,
  pagePeople,
  pageTeams,
  peopleByIds,
  setOptIn,
  type TeamRow,
  teamsByIds,
} from '../store/directory.ts';
import {
  type DirectoryChange,
  directoryChanges,
  type IngestResult,
  ingestBatch,
  type RowResult,
} from '../store/loader.ts';
import type { Session } from './caller.ts';
import {
  BatchTooLargeError,
  ForbiddenError,
  InvalidRequestError,
  MAX_BATCH_ROWS,
  NotFoundError,
} from './errors.ts';
import { perStore } from './per-store.ts';
import { type PrivacyView, privacyFor } from './privacy.ts';
import { can, seesNames } from './roles.ts';

export type { PersonRow, TeamRow };

/** The directory scope of pseudonyms: they join to no board, usage or impact output. */
export const DIRECTORY_SCOPE = '';

export type TeamPatch = {
  team?: string | null;
  name?: string | null;
  parent?: string | null;
  costCenter?: string | null;
  sensitivity?: 'normal' | 'restricted' | null;
  owner?: string | null;
};

export type PersonPatch = {
  person?: string | null;
  name?: string | null;
  team?: string | null;
  role?: string | null;
  manager?: string | null;
  optedIn?: boolean | null;
  attributes?: unknown;
};

export type Page = {
  before?: string;
  after?: string;
  limit: number;
  inverted: boolean;
};

export type DirectoryService = {
  view(session: Session): Promise<PrivacyView>;
  /** People by id (the loader of nested fields); ids a caller may not see are not found. */
  people(session: Session, ids: readonly string[]): Promise<(PersonRow | Error)[]>;
  teams(session: Session, ids: readonly string[]): Promise<(TeamRow | Error)[]>;
  person(session: Session, id: string): Promise<PersonRow>;
  team(session: Session, id: string): Promise<TeamRow>;
  pagePeople(
    session: Session,
    filter: { team?: string | null },
    page: Page,
  ): Promise<{ id: string; cursor: string }[]>;
  pageTeams(session: Session, filter: { parent?: string | null }, page: Page): Promise<TeamRow[]>;
  members(session: Session, teams: readonly string[]): Promise<string[][]>;
  children(session: Session, teams: readonly string[]): Promise<string[][]>;
  upsert(
    session: Session,
    input: { teams: readonly TeamPatch[]; people: readonly PersonPatch[] },
  ): Promise<IngestResult>;
  setOptIn(session: Session, person: string | null, optedIn: boolean): Promise<PersonRow>;
};

export const directoryFor = perStore(createDirectory);

const encode = (s: string) => Buffer.from(s).toString('base64url');
const decode = (s: string | undefined) =>
  s === undefined ? undefined : Buffer.from(s, 'base64url').toString();

function withoutNulls(fields: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key in fields) {
    const value = fields[key];
    if (value !== null && value !== undefined) kept[key] = value;
  }
  return kept;
}

function group(rows: { key: string; id: string }[], keys: readonly string[]): string[][] {
  const grouped = new Map<string, string[]>();
  for (const row of rows) {
    const list = grouped.get(row.key) ?? [];
    list.push(row.id);
    grouped.set(row.key, list);
  }
  return keys.map((k) => grouped.get(k) ?? []);
}

function createDirectory(store: Store): DirectoryService {
  const privacy = privacyFor(store);
  /** A secret 64-bit seed from the pseudonym key: masked pages follow a keyed hash order. */
  const seed = async () => {
    const pseudonym = await privacy.pseudonym();
    const digest = createHmac('sha256', pseudonym('\u0000page-order'))
      .update('order')
      .digest('hex');
    return BigInt.asIntN(64, BigInt(`0x${digest.slice(0, 16)}`)).toString();
  };
  /** Below governance a restricted team's members are absent, except to themselves. */
  const personVisible = (view: PrivacyView, p: PersonRow) =>
    view.named || p.id === view.caller.person || !view.teamAbsent(p.teamId);
  const teamVisible = async (view: PrivacyView, t: TeamRow) => {
    if (!view.teamAbsent(t.id)) return true;
    // a member sees their own team, restricted or not
    if (!view.caller.person) return false;
    const [me] = await peopleByIds(store, [view.caller.person]);
    return me?.teamId === t.id;
  };

  const service: DirectoryService = {
    view: (session) => privacy.view(session),

    async people(session, ids) {
      const [view, rows] = await Promise.all([privacy.view(session), peopleByIds(store, ids)]);
      const byId = new Map(rows.map((p) => [p.id, p]));
      return ids.map((id) => {
        const p = byId.get(id);
        return p && personVisible(view, p) ? p : new NotFoundError('person', id);
      });
    },

    async teams(session, ids) {
      const [view, rows] = await Promise.all([privacy.view(session), teamsByIds(store, ids)]);
      const byId = new Map(rows.map((t) => [t.id, t]));
      return Promise.all(
        ids.map(async (id) => {
          const t = byId.get(id);
          return t && (await teamVisible(view, t)) ? t : new NotFoundError('team', id);
        }),
      );
    },

    async person(session, id) {
      const { caller } = session;
      if (!seesNames(caller.role) && id !== caller.person)
        throw new ForbiddenError(
          `role "${caller.role}" sees other people only masked, through \`people\`; ` +
            'looking someone up by id needs a governance key',
        );
      const [found] = await peopleByIds(store, [id]);
      if (!found) throw new NotFoundError('person', id);
      return found;
    },

    async team(session, id) {
      const [view, [found]] = await Promise.all([privacy.view(session), teamsByIds(store, [id])]);
      if (!found || !(await teamVisible(view, found))) throw new NotFoundError('team', id);
      return found;
    },

    async pagePeople(session, filter, page) {
      const view = await privacy.view(session);
      const masked = !view.named;
      const after = decode(page.after);
      const before = decode(page.before);
      for (const cursor of [after, before])
        if (masked && cursor !== undefined && !/^-?\d{1,19}$/.test(cursor))
          throw new InvalidRequestError([
            { field: 'after', message: 'invalid cursor: use a cursor returned by this connection' },
          ]);
      if (filter.team && view.teamAbsent(filter.team)) return [];
      const rows = await pagePeople(store, {
        team: filter.team ?? null,
        excludeTeams: masked ? [...view.restrictedTeams] : [],
        requireTeam: false,
        seed: masked ? await seed() : null,
        after,
        before,
        limit: page.limit,
        inverted: page.inverted,
      });
      return rows.map((r) => ({ id: r.id, cursor: encode(r.k) }));
    },

    async pageTeams(session, filter, page) {
      const view = await privacy.view(session);
      if (filter.parent && view.teamAbsent(filter.parent)) return [];
      return pageTeams(store, {
        parent: filter.parent ?? null,
        excludeTeams: view.named ? [] : [...view.restrictedTeams],
        after: decode(page.after),
        before: decode(page.before),
        limit: page.limit,
        inverted: page.inverted,
      });
    },

    async members(session, teams) {
      const view = await privacy.view(session);
      const shown = teams.filter((t) => !view.teamAbsent(t));
      return group(await membersOfTeams(store, shown), teams);
    },

    async children(session, teams) {
      const view = await privacy.view(session);
      const rows = await childrenOfTeams(store, teams);
      return group(
        rows.filter((r) => !view.teamAbsent(r.id)),
        teams,
      );
    },

    async upsert({ caller }, input) {
      const total = input.teams.length + input.people.length;
      if (total > MAX_BATCH_ROWS) throw new BatchTooLargeError(total);
      const teamRows = input.teams.map((team) => ({
        type: 'team',
        ...withoutNulls({
          team: team.team,
          name: team.name,
          parent: team.parent,
          cost_center: team.costCenter,
          sensitivity: team.sensitivity,
          owner: team.owner,
        }),
      }));
      const personRows = input.people.map((person) => ({
        type: 'person',
        ...withoutNulls({
          person: person.person,
          name: person.name,
          team: person.team,
          role: person.role,
          manager: person.manager,
          opted_in: person.optedIn,
          attributes: person.attributes,
        }),
      }));
      // a change privacy rests on needs governance; the loader audits it as it writes
      const refusedFields = new Map<number, string[]>();
      if (!can(caller.role, 'governance')) {
        // rows without an id are rejected by the loader; they change nothing stored
        const teams = input.teams.map((t) => ({ team: t.team ?? '', sensitivity: t.sensitivity }));
        const people = input.people.map((p) => ({
          person: p.person ?? '',
          team: p.team,
          opted_in: p.optedIn,
          manager: p.manager,
        }));
        for (const change of await directoryChanges(store, teams, people)) {
          if (!change.privacy) continue;
          const line =
            change.action === 'directory.team.sensitivity'
              ? change.row
              : input.teams.length + change.row;
          refusedFields.set(line, [...(refusedFields.get(line) ?? []), FIELD_OF[change.action]]);
        }
      }
      const refused: RowResult[] = [];
      const rows: { line: number; data: Record<string, unknown> }[] = [];
      [...teamRows, ...personRows].forEach((data, line) => {
        const fields = refusedFields.get(line);
        if (fields)
          refused.push(
            refusal(line, data.type as 'team' | 'person', subjectOf(data), fields.join(' and ')),
          );
        else rows.push({ line, data });
      });
      const result = await ingestBatch(store, rows, {
        source: 'api',
        actor: { keyId: caller.keyId, role: caller.role },
      });
      return {
        results: [...result.results, ...refused].sort((a, b) => a.line - b.line),
        totals: {
          ...result.totals,
          rows: result.totals.rows + refused.length,
          rejected: result.totals.rejected + refused.length,
        },
      };
    },

    async setOptIn({ caller, audit }, person, optedIn) {
      const target = person ?? caller.person;
      if (!target) throw new ForbiddenError('this key is bound to no person: pass `person`');
      if (target !== caller.person && !seesNames(caller.role))
        throw new ForbiddenError('a member may change only their own opt-in');
      const updated = await setOptIn(store, target, optedIn);
      if (!updated) throw new NotFoundError('person', target);
      await audit.record({ action: 'person.opt_in', subject: target, detail: { optedIn } });
      return updated;
    },
  };
  return service;
}

/** The input field behind each audited change, named in a refusal. */
const FIELD_OF: Record<DirectoryChange['action'], string> = {
  'directory.team.sensitivity': 'sensitivity',
  'directory.person.team': 'team',
  'directory.person.consent': 'opted_in',
  'directory.person.manager': 'manager',
  // audited, not refused: the org chart's sync moves teams between cost centres
  'directory.team.cost_center': 'cost_center',
  'directory.team.parent': 'parent',
};

const subjectOf = (data: Record<string, unknown>): string | undefined => {
  const id = data.type === 'team' ? data.team : data.person;
  return typeof id === 'string' ? id : undefined;
};

function refusal(line: number, type: 'team' | 'person', id: string | undefined, field: string) {
  return {
    line,
    status: 'rejected' as const,
    type,
    ...(id ? { id } : {}),
    reason: `${field}: changing this on an existing ${type} needs a governance key (it moves people in or out of a privacy rule; see docs/privacy.md)`,
  };
}
