import { Migration } from '@mikro-orm/migrations';

// Token budgets (`budget each team { 50M tokens per month }`) and project budgets
// (`budget project "launch" { … }`) follow ingest the way money budgets do: the cost deltas
// carry tokens and the project, the per-person period totals keep tokens, and a period may
// be scoped to one project. The totals are a cache filled on first use, so they are emptied
// here and refilled with the new columns. Holds of a project budget apply only to requests
// for that project.
const TOKENS = 'input_tokens + output_tokens + cache_read_tokens + cache_write_tokens';

function deltaFunctions(withScope: boolean): string[] {
  const keys = withScope ? 'person_id, day, environment, project' : 'person_id, day, environment';
  const cols = withScope ? `${keys}, cost, tokens` : `${keys}, cost`;
  const sums = (sign: string) =>
    withScope ? `${sign}sum(cost), ${sign}sum(${TOKENS})` : `${sign}sum(cost)`;
  const changed = withScope ? 'sum(cost) <> 0 or sum(tokens) <> 0' : 'sum(cost) <> 0';
  const pick = (sign: string) =>
    withScope
      ? `${keys}, ${sign}cost as cost, ${sign}(${TOKENS}) as tokens`
      : `${keys}, ${sign}cost as cost`;
  return [
    `create or replace function quotient_cost_delta_insert() returns trigger language plpgsql as $$
     begin
       insert into enforcement_cost_deltas (${cols})
         select ${keys}, ${sums('')} from changed_rollups
          group by ${keys} having ${withScope ? `sum(cost) <> 0 or sum(${TOKENS}) <> 0` : 'sum(cost) <> 0'};
       return null;
     end $$`,
    `create or replace function quotient_cost_delta_update() returns trigger language plpgsql as $$
     begin
       insert into enforcement_cost_deltas (${cols})
         select ${keys}, sum(cost)${withScope ? ', sum(tokens)' : ''} from (
           select ${pick('')} from changed_rollups
           union all
           select ${pick('-')} from previous_rollups) d
          group by ${keys} having ${changed};
       return null;
     end $$`,
    `create or replace function quotient_cost_delta_delete() returns trigger language plpgsql as $$
     begin
       insert into enforcement_cost_deltas (${cols})
         select ${keys}, ${sums('-')} from previous_rollups
          group by ${keys} having ${withScope ? `sum(cost) <> 0 or sum(${TOKENS}) <> 0` : 'sum(cost) <> 0'};
       return null;
     end $$`,
  ];
}

export class Migration20261206002100_budget_tokens extends Migration {
  override up(): void {
    this.addSql(
      "alter table enforcement_cost_deltas add column if not exists project text not null default ''",
    );
    this.addSql(
      'alter table enforcement_cost_deltas add column if not exists tokens numeric(28, 0) not null default 0',
    );
    this.addSql(
      'alter table enforcement_person_costs add column if not exists tokens numeric(28, 0) not null default 0',
    );
    this.addSql('alter table enforcement_cost_periods add column if not exists project text');
    this.addSql('truncate enforcement_person_costs, enforcement_cost_periods');
    for (const sql of deltaFunctions(true)) this.addSql(sql);
    this.addSql('alter table enforcement_holds add column if not exists project text');
  }

  override down(): void {
    for (const sql of deltaFunctions(false)) this.addSql(sql);
    this.addSql('truncate enforcement_person_costs, enforcement_cost_periods');
    this.addSql('alter table enforcement_holds drop column if exists project');
    this.addSql('alter table enforcement_cost_periods drop column if exists project');
    this.addSql('alter table enforcement_person_costs drop column if exists tokens');
    this.addSql('alter table enforcement_cost_deltas drop column if exists tokens');
    this.addSql('alter table enforcement_cost_deltas drop column if exists project');
  }
}
