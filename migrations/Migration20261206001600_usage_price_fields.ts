import { Migration } from '@mikro-orm/migrations';

// The fields providers bill on besides plain tokens (docs/ingest-pricing.md), kept on each
// usage event so `quotient reprice` can price stored usage again under a new policy.
// The token parts are included in the main counts (1-hour writes in cache_write_tokens,
// audio in input/output), so no total changes meaning. Defaults make the change instant on
// existing partitions (no rewrite). provider_model keeps the name the provider wrote when a
// policy's `matches` pattern priced it as a declared model (then in `model`), so rollups,
// classes and tiers see one name per model and a later policy can resolve it again.
export class Migration20261206001600_usage_price_fields extends Migration {
  override up(): void {
    this.addSql(`
      alter table usage_events
        add column if not exists cache_write_1h_tokens bigint not null default 0,
        add column if not exists audio_input_tokens bigint not null default 0,
        add column if not exists audio_output_tokens bigint not null default 0,
        add column if not exists web_search_requests bigint not null default 0,
        add column if not exists service_tier text,
        add column if not exists long_context boolean,
        add column if not exists provider_model text`);
  }

  override down(): void {
    this.addSql(`
      alter table usage_events
        drop column if exists cache_write_1h_tokens,
        drop column if exists audio_input_tokens,
        drop column if exists audio_output_tokens,
        drop column if exists web_search_requests,
        drop column if exists service_tier,
        drop column if exists long_context,
        drop column if exists provider_model`);
  }
}
