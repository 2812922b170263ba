// Directory reads for the API: people and teams by id, key-set pages, team members and
// children, opt-in changes. Rows are read with plain SQL: hydrating ORM entities cost ~6x
// the query itself for a page of 50.
import type { Queryable } from './sql-text.ts';

export type PersonRow = {
  id: string;
  name: string | null;
  teamId: string | null;
  role: string | null;
  managerId: string | null;
  optedIn: boolean;
  attributes: Record<string, unknown>;
  fromDirectory: boolean;
};

export type TeamRow = {
  id: string;
  name: string;
  parentId: string | null;
  costCenter: string | null;
  sensitivity: string;
  owner: string | null;
  fromDirectory: boolean;
};

const PERSON_COLUMNS = `id, name, team_id as "teamId", role, manager_id as "managerId",
  opted_in as "optedIn", attributes, from_directory as "fromDirectory"`;
const TEAM_COLUMNS = `id, name, parent_id as "parentId", cost_center as "costCenter", sensitivity,
  owner, from_directory as "fromDirectory"`;

export function peopleByIds(db: Queryable, ids: readonly string[]): Promise<PersonRow[]> {
  return db.query<PersonRow>(`select ${PERSON_COLUMNS} from people where id = any($1::text[])`, [
    [...ids],
  ]);
}

export function teamsByIds(db: Queryable, ids: readonly string[]): Promise<TeamRow[]> {
  return db.query<TeamRow>(`select ${TEAM_COLUMNS} from teams where id = any($1::text[])`, [
    [...ids],
  ]);
}

/** (team, person) pairs of every member of the given teams, in person id order. */
export function membersOfTeams(
  db: Queryable,
  teams: readonly string[],
): Promise<{ key: string; id: string }[]> {
  return db.query(
    'select team_id as key, id from people where team_id = any($1::text[]) order by id',
    [[...teams]],
  );
}

/** (parent, child) pairs of the given teams' children, in id order. */
export function childrenOfTeams(
  db: Queryable,
  teams: readonly string[],
): Promise<{ key: string; id: string }[]> {
  return db.query(
    'select parent_id as key, id from teams where parent_id = any($1::text[]) order by id',
    [[...teams]],
  );
}

export type PeoplePage = {
  team: string | null;
  /** leave out people of these teams */
  excludeTeams: readonly string[];
  /** only people with a team (a hidden "no team" group is left out) */
  requireTeam: boolean;
  /** a 64-bit seed: page in the order of a keyed hash of the id (masked callers) */
  seed: string | null;
  after: string | undefined;
  before: string | undefined;
  limit: number;
  inverted: boolean;
};

/** A key-set page of people ids with their sort key (the id, or the keyed hash). */
export function pagePeople(db: Queryable, page: PeoplePage): Promise<{ id: string; k: string }[]> {
  const params: unknown[] = [];
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  // hashtextextended is PostgreSQL's built-in seeded 64-bit hash: far cheaper than md5
  const key = page.seed === null ? 'id' : `hashtextextended(id, ${add(page.seed)}::bigint)`;
  const cast = page.seed === null ? '' : '::bigint';
  const where: string[] = [];
  if (page.team) where.push(`team_id = ${add(page.team)}`);
  if (page.excludeTeams.length)
    where.push(`(team_id is null or not team_id = any(${add([...page.excludeTeams])}::text[]))`);
  if (page.requireTeam) where.push('team_id is not null');
  if (page.after !== undefined) where.push(`${key} > ${add(page.after)}${cast}`);
  if (page.before !== undefined) where.push(`${key} < ${add(page.before)}${cast}`);
  return db.query(
    `select id, (${key})::text as k from people ${where.length ? `where ${where.join(' and ')}` : ''}
     order by ${key} ${page.inverted ? 'desc' : 'asc'} limit ${add(page.limit)}`,
    params,
  );
}

export type TeamsPage = {
  parent: string | null;
  excludeTeams: readonly string[];
  after: string | undefined;
  before: string | undefined;
  limit: number;
  inverted: boolean;
};

export function pageTeams(db: Queryable, page: TeamsPage): Promise<TeamRow[]> {
  const params: unknown[] = [];
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (page.after) where.push(`id > ${add(page.after)}`);
  if (page.before) where.push(`id < ${add(page.before)}`);
  if (page.parent) where.push(`parent_id = ${add(page.parent)}`);
  if (page.excludeTeams.length) where.push(`not id = any(${add([...page.excludeTeams])}::text[])`);
  return db.query<TeamRow>(
    `select ${TEAM_COLUMNS} from teams ${where.length ? `where ${where.join(' and ')}` : ''}
     order by id ${page.inverted ? 'desc' : 'asc'} limit ${add(page.limit)}`,
    params,
  );
}

export async function setOptIn(
  db: Queryable,
  person: string,
  optedIn: boolean,
): Promise<PersonRow | null> {
  const rows = await db.query<PersonRow>(
    `update people set opted_in = $1, updated_at = now() where id = $2 returning ${PERSON_COLUMNS}`,
    [optedIn, person],
  );
  return rows[0] ?? null;
}

/** Every person's id (the quota cache loads them all when it starts). */
export async function allPersonIds(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ id: string }>('select id from people order by id');
  return rows.map((r) => r.id);
}

export type Membership = {
  /** every team with its sensitivity and member count (teams only people name count too) */
  teams: { id: string; sensitivity: string; members: number }[];
  /** people with no team */
  teamless: number;
};

/** Team sizes and sensitivities: what the privacy rules decide visibility from. */
export async function membership(db: Queryable): Promise<Membership> {
  const rows = await db.query<{ id: string | null; sensitivity: string | null; members: string }>(
    `select coalesce(t.id, p.team_id) as id, t.sensitivity, count(p.id)::text as members
       from teams t full join people p on p.team_id = t.id
      group by 1, 2`,
  );
  let teamless = 0;
  const teams: Membership['teams'] = [];
  for (const r of rows) {
    if (r.id === null) teamless += Number(r.members);
    else
      teams.push({ id: r.id, sensitivity: r.sensitivity ?? 'normal', members: Number(r.members) });
  }
  return { teams, teamless };
}

/** Every team with its parent and cost centre: the team tree chargeback rolls up. */
export function teamTree(
  db: Queryable,
): Promise<{ id: string; parentId: string | null; costCenter: string | null }[]> {
  return db.query(
    'select id, parent_id as "parentId", cost_center as "costCenter" from teams order by id',
  );
}

/** The people who name this person as their manager (direct reports), in id order. */
export function reportsOf(db: Queryable, manager: string): Promise<PersonRow[]> {
  return db.query<PersonRow>(
    `select ${PERSON_COLUMNS} from people where manager_id = $1 order by id`,
    [manager],
  );
}
