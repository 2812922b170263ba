// The migrated schema against the Citus placement of src/store/distribution.ts (docs/scale.md):
// Citus refuses a unique constraint on a distributed table without its distribution column,
// a foreign key between distributed tables that are not colocated on that column, and a
// foreign key from a replicated or coordinator table into a distributed one. A new table
// must be placed before it can land.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISTRIBUTION, type Placement } from '../../src/store/distribution.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
}, 60_000);
afterAll(async () => {
  await store?.destroy();
});

type Unique = { table: string; name: string; columns: string[] };
type ForeignKey = {
  table: string;
  name: string;
  columns: string[];
  target: string;
  targetColumns: string[];
};

async function tables(): Promise<string[]> {
  const rows = await store.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
      order by 1`,
  );
  return rows.map((r) => r.name);
}

/** Primary keys, unique constraints and unique indexes (partial and expression ones too). */
async function uniques(): Promise<Unique[]> {
  const rows = await store.query<{ table: string; name: string; columns: string[] | null }>(
    `select t.relname as table, i.relname as name,
            array(select a.attname::text from unnest(x.indkey) k join pg_attribute a
                   on a.attrelid = x.indrelid and a.attnum = k where k > 0) as columns
       from pg_index x
       join pg_class i on i.oid = x.indexrelid
       join pg_class t on t.oid = x.indrelid
       join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = current_schema() and x.indisunique and not t.relispartition`,
  );
  return rows.map((r) => ({ ...r, columns: r.columns ?? [] }));
}

async function foreignKeys(): Promise<ForeignKey[]> {
  return store.query<ForeignKey>(
    `select t.relname as table, c.conname as name, f.relname as target,
            array(select a.attname::text from unnest(c.conkey) k join pg_attribute a
                   on a.attrelid = c.conrelid and a.attnum = k) as columns,
            array(select a.attname::text from unnest(c.confkey) k join pg_attribute a
                   on a.attrelid = c.confrelid and a.attnum = k) as "targetColumns"
       from pg_constraint c
       join pg_class t on t.oid = c.conrelid
       join pg_class f on f.oid = c.confrelid
       join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = current_schema() and c.contype = 'f' and not t.relispartition`,
  );
}

/** Why Citus would refuse this foreign key, or null. */
function foreignKeyProblem(fk: ForeignKey, from: Placement, to: Placement): string | null {
  if (from.kind === 'distributed' && to.kind === 'distributed') {
    if (from.colocation !== 'person' || to.colocation !== 'person') {
      return 'joins distributed tables that are not colocated';
    }
    const at = fk.columns.indexOf(from.column);
    if (at < 0 || fk.targetColumns[at] !== to.column) {
      return `must pair ${fk.table}.${from.column} with ${fk.target}.${to.column}`;
    }
    return null;
  }
  if (from.kind === 'distributed' && to.kind === 'reference') return null;
  if (to.kind === 'distributed') return `a ${from.kind} table cannot reference a distributed one`;
  if (from.kind === 'reference' && to.kind === 'coordinator') {
    return 'a reference table cannot reference a coordinator table';
  }
  if (from.kind === 'distributed')
    return 'a distributed table can reference only colocated or reference tables';
  return null;
}

describe('the schema on a Citus cluster', () => {
  it('places every table, and places only tables that exist', async () => {
    const present = await tables();
    expect(present.filter((t) => !(t in DISTRIBUTION))).toEqual([]);
    expect(Object.keys(DISTRIBUTION).filter((t) => !present.includes(t))).toEqual([]);
  });

  it('keeps the distribution column in every unique constraint of a distributed table', async () => {
    const found = await uniques();
    // the check sees the tables' keys (a table without any would make it vacuous)
    expect(found.some((u) => u.table === 'daily_rollups')).toBe(true);
    const wrong = found
      .filter((u) => {
        const p = DISTRIBUTION[u.table];
        return p?.kind === 'distributed' && !u.columns.includes(p.column);
      })
      .map((u) => `${u.table}: ${u.name} (${u.columns.join(', ') || 'an expression'})`);
    expect(wrong).toEqual([]);
  });

  it('has no foreign key Citus would refuse', async () => {
    const found = await foreignKeys();
    expect(found.some((f) => f.table === 'people' && f.target === 'teams')).toBe(true);
    const wrong = found.flatMap((fk) => {
      const from = DISTRIBUTION[fk.table];
      const to = DISTRIBUTION[fk.target];
      if (!from || !to) return [`${fk.table} → ${fk.target}: not placed`];
      const problem = foreignKeyProblem(fk, from, to);
      return problem ? [`${fk.table}.${fk.name} → ${fk.target}: ${problem}`] : [];
    });
    expect(wrong).toEqual([]);
  });

  it('would refuse a reference into person data, and one that leaves the person out', () => {
    const people = DISTRIBUTION.people;
    const teams = DISTRIBUTION.teams;
    expect(
      foreignKeyProblem(
        { table: 'teams', name: 'x', columns: ['owner'], target: 'people', targetColumns: ['id'] },
        teams,
        people,
      ),
    ).toMatch(/cannot reference a distributed/);
    expect(
      foreignKeyProblem(
        {
          table: 'daily_rollups',
          name: 'x',
          columns: ['model'],
          target: 'people',
          targetColumns: ['id'],
        },
        DISTRIBUTION.daily_rollups,
        people,
      ),
    ).toMatch(/must pair/);
  });
});
