import { Migration } from '@mikro-orm/migrations';

// A budget period that only org-wide budgets read (org, project) keeps one total instead of
// one row per person: folding ingest's cost deltas then writes one row for it, not one per
// person touched (docs/benchmarks/quota.md). Existing periods stay per person, which serves
// org-wide reads as well.
export class Migration20261207000200_org_wide_budget_periods extends Migration {
  override up(): void {
    this.addSql(
      'alter table enforcement_cost_periods add column if not exists per_person boolean not null default true',
    );
  }

  override down(): void {
    this.addSql(
      'delete from enforcement_person_costs c using enforcement_cost_periods p where p.window_key = c.window_key and p.period_from = c.period_from and not p.per_person',
    );
    this.addSql('delete from enforcement_cost_periods where not per_person');
    this.addSql('alter table enforcement_cost_periods drop column if exists per_person');
  }
}
