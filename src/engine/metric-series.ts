// Metric series: the policy's declared metrics (acceptance, tokens per task, cost per
// accepted, any other) per person, team or the org, over day, week or month buckets. The
// metrics are the policy's own compiled formulas (compileFormula, as boards and reports
// run them): each bucket is a window of its days, and a fact read `within` a trailing
// window is read over that window ending where the bucket ends. One read of the facts for
// every bucket at once (sumFacts).
import { compileFormula } from '../policy/compile/codegen.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { attributeView } from '../policy/evaluate/index.ts';
import type { SubjectInput } from '../policy/evaluate/types.ts';
import { localMidnight } from '../policy/windows.ts';
import { factWindow, personAttributes, teamAttributes } from './facts.ts';
import type {
  DirectoryPerson,
  DirectoryTeam,
  FactGrouping,
  FactWindow,
  PersonScope,
  UsageReader,
} from './ports.ts';
import { type TeamDayFloor, TeamDayWindowError, teamDaySums } from './team-days.ts';
import { addDays, type UsageBucket } from './usage.ts';

export type SeriesSubjectKind = 'person' | 'team' | 'org';

/** Local days [from, to) of one bucket, clipped to the asked range. */
export type Bucket = { start: string; from: string; to: string };

/** Most buckets one series may have (a year of days). */
export const MAX_BUCKETS = 400;

export class MetricSeriesError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** The buckets covering [from, to): days, ISO weeks (Monday first) or calendar months. */
export function bucketsOf(from: string, to: string, bucket: UsageBucket): Bucket[] {
  const out: Bucket[] = [];
  let start = bucketStart(from, bucket);
  while (start < to) {
    const end = nextBucket(start, bucket);
    out.push({ start, from: start < from ? from : start, to: end > to ? to : end });
    if (out.length > MAX_BUCKETS)
      throw new MetricSeriesError(
        'bucket',
        `${from} to ${to} has more than ${MAX_BUCKETS} ${bucket} buckets: use a larger bucket or a shorter range`,
      );
    start = end;
  }
  return out;
}

/** The first day of the bucket holding `day` (ISO weeks start on Monday). */
export function bucketStart(day: string, bucket: UsageBucket): string {
  if (bucket === 'day') return day;
  if (bucket === 'month') return `${day.slice(0, 7)}-01`;
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  return addDays(day, -weekday);
}

function nextBucket(start: string, bucket: UsageBucket): string {
  if (bucket === 'day') return addDays(start, 1);
  if (bucket === 'week') return addDays(start, 7);
  return addDays(`${start.slice(0, 7)}-28`, 7).replace(/-\d\d$/, '-01');
}

export type MetricPoint = {
  /** first local day of the bucket */
  bucket: string;
  subject: string;
  /** metric name → value, in the order asked */
  values: Record<string, number>;
  /** people whose facts the point adds up (with any fact non-zero in the bucket) */
  people: number;
};

export type MetricSeriesRequest = {
  /** metric names; every declared metric when null */
  metrics: readonly string[] | null;
  subject: SeriesSubjectKind;
  /** subject ids (people or teams); null: every person or team in the directory */
  ids: readonly string[] | null;
  from: string;
  to: string;
  bucket: UsageBucket;
};

/** The metric names a request reads, checked against the policy. */
export function seriesMetrics(ruleSet: RuleSet, asked: readonly string[] | null): string[] {
  const declared = ruleSet.ir.metricOrder;
  if (asked === null) return [...declared];
  const unknown = asked.filter((m) => !declared.includes(m));
  if (unknown.length > 0)
    throw new MetricSeriesError(
      'metrics',
      `the active policy declares no metric ${unknown.map((m) => `"${m}"`).join(', ')} (it declares ${declared.join(', ') || 'none'})`,
    );
  return [...new Set(asked)];
}

const BASE = 'bucket';

/**
 * Metric values per subject and bucket. Team figures add up the team's current members, as
 * everywhere else. With `teamDays` (team and org series below governance) facts are read
 * per team-day of the listed teams and only team-days with at least `floor` people count,
 * whatever the window (privacy R11); sub-day windows and declared measures cannot be
 * built from team-days and are refused.
 */
export async function metricSeries(
  reader: UsageReader,
  ruleSet: RuleSet,
  request: MetricSeriesRequest,
  options: { teamDays?: TeamDayFloor } = {},
): Promise<{ metrics: string[]; buckets: Bucket[]; points: MetricPoint[] }> {
  const ir = ruleSet.ir;
  const metrics = seriesMetrics(ruleSet, request.metrics);
  const buckets = bucketsOf(request.from, request.to, request.bucket);
  if (metrics.length === 0 || buckets.length === 0) return { metrics, buckets, points: [] };
  const formula = compileFormula(ir, null, BASE, 'metric series', { extraMetrics: metrics });
  const factsByWindow = new Map<string, Set<string>>();
  for (const f of formula.facts) {
    const set = factsByWindow.get(f.window) ?? new Set<string>();
    set.add(f.name);
    factsByWindow.set(f.window, set);
  }
  // the base window also counts who took part: any usage or outcome
  const base = factsByWindow.get(BASE) ?? new Set<string>();
  for (const f of ['requests', 'tasks']) base.add(f);
  factsByWindow.set(BASE, base);
  const windows: FactWindow[] = [];
  buckets.forEach((b, i) => {
    // the bucket's last instant: trailing windows end where the bucket ends
    const [y, m, d] = b.to.split('-').map(Number);
    const last = new Date(localMidnight(y, m, d, ir.timezone).getTime() - 1);
    for (const [window, facts] of factsByWindow) {
      if (window === BASE) {
        windows.push({
          kind: 'days',
          from: b.from,
          to: b.to,
          key: `${i}`,
          environment: null,
          facts: [...facts].sort(),
        });
      } else
        windows.push({ ...factWindow(window, facts, last, ir.timezone), key: `${i}|${window}` });
    }
  });
  const ids = request.ids ? [...new Set(request.ids)] : null;
  const directory = await reader.directory(
    request.subject === 'person' && ids
      ? { people: ids }
      : request.subject === 'team' && ids
        ? { teams: ids, people: [] }
        : null,
  );
  const subjects = subjectsFor(request.subject, ids, directory.people, directory.teams);
  const { grouped, participants } = options.teamDays
    ? await fromTeamDays(reader, windows, request.subject, ids, options.teamDays)
    : await fromPeople(reader, windows, request.subject, ids, directory.people);
  const teamInputs = new Map(
    directory.teams.map((t) => [
      t.id,
      { kind: 'team', id: t.id, attributes: teamAttributes(t), facts: {} } as SubjectInput,
    ]),
  );
  const wanted = new Set(metrics);
  const points: MetricPoint[] = [];
  const values = new Array<number>(formula.metrics.length);
  const sink = () => 0;
  for (const subject of subjects) {
    const S = attributeView(subject, teamInputs);
    buckets.forEach((b, i) => {
      const F: Record<string, Record<string, number>> = {};
      for (const window of factsByWindow.keys()) {
        const key = window === BASE ? `${i}` : `${i}|${window}`;
        F[window] = grouped.get(key)?.get(subject.id) ?? {};
      }
      formula.fn(F, S, sink, values);
      const point: MetricPoint = {
        bucket: b.start,
        subject: subject.id,
        values: {},
        people: participants.get(`${i}|${subject.id}`) ?? 0,
      };
      formula.metrics.forEach((m, j) => {
        if (wanted.has(m)) point.values[m] = values[j] ?? 0;
      });
      // in the order asked
      point.values = Object.fromEntries(metrics.map((m) => [m, point.values[m] ?? 0]));
      points.push(point);
    });
  }
  return { metrics, buckets, points };
}

type Sums = {
  /** window key → subject id → facts */
  grouped: Map<string, Map<string, Record<string, number>>>;
  /** `${bucket index}|${subject}` → people taking part */
  participants: Map<string, number>;
};

/** Sums from people's rows (governance, and a person's own series). */
async function fromPeople(
  reader: UsageReader,
  windows: readonly FactWindow[],
  kind: SeriesSubjectKind,
  ids: readonly string[] | null,
  people: readonly DirectoryPerson[],
): Promise<Sums> {
  const scope: PersonScope =
    ids && kind === 'person' ? { people: ids } : ids && kind === 'team' ? { teams: ids } : null;
  const groupings: FactGrouping[] = ['person'];
  if (kind !== 'person') groupings.push(kind);
  const sums = await reader.sumFacts(windows, groupings, scope);
  const teamOf = new Map(people.map((p) => [p.id, p.team]));
  const participants = new Map<string, number>();
  for (const [key, byPerson] of sums.person ?? new Map()) {
    if (key.includes('|')) continue;
    for (const [person, values] of byPerson) {
      if (!Object.values(values).some((v) => v !== 0)) continue;
      const owner = kind === 'person' ? person : kind === 'org' ? 'org' : teamOf.get(person);
      if (!owner) continue;
      const k = `${key}|${owner}`;
      participants.set(k, (participants.get(k) ?? 0) + 1);
    }
  }
  return { grouped: sums[kind] ?? new Map(), participants };
}

/**
 * Sums from team-days of at least `floor` people (team-days.ts): each window adds up the
 * team-days inside it (per team, or all teams for the org). A point's people is the most
 * people of any team-day in it (at least `floor` when any counts).
 */
async function fromTeamDays(
  reader: UsageReader,
  windows: readonly FactWindow[],
  kind: SeriesSubjectKind,
  ids: readonly string[] | null,
  teamDays: TeamDayFloor,
): Promise<Sums> {
  const teams = ids ? teamDays.teams.filter((t) => ids.includes(t)) : teamDays.teams;
  try {
    const { sums, people } = await teamDaySums(
      reader,
      windows,
      { teams, floor: teamDays.floor },
      kind === 'org',
    );
    return { grouped: sums, participants: people };
  } catch (error) {
    if (error instanceof TeamDayWindowError)
      throw new MetricSeriesError(
        'metrics',
        `a metric cannot be read below governance: ${error.message}, and below governance series are made of whole team-days`,
      );
    throw error;
  }
}

function subjectsFor(
  kind: SeriesSubjectKind,
  ids: readonly string[] | null,
  people: readonly DirectoryPerson[],
  teams: readonly DirectoryTeam[],
): SubjectInput[] {
  // the org has no attributes; it is evaluated as a subject without any
  if (kind === 'org') return [{ kind: 'team', id: 'org', attributes: {}, facts: {} }];
  if (kind === 'person')
    return people
      .filter((p) => !ids || ids.includes(p.id))
      .map((p) => ({ kind: 'person', id: p.id, attributes: personAttributes(p), facts: {} }));
  return teams
    .filter((t) => !ids || ids.includes(t.id))
    .map((t) => ({ kind: 'team', id: t.id, attributes: teamAttributes(t), facts: {} }));
}
