// The audit trail of one request: reads of named individual data by governance roles,
// decisions, policy activations and key changes are recorded. Entries made in the same
// tick are recorded together, and the same action on the same subject once per request.
//
// Decisions and changes (everything but `read.*`) are written before the request answers.
// Reads of named data go to the store's audit trail (below): appended in batches off the
// request's critical path, a fraction of a second later, and flushed when the server
// shuts down and when the store closes, so none is lost on a graceful stop (a crash loses
// at most the last `flushAfterMs`).
import DataLoader from 'dataloader';
import { type AuditEntry, appendAudit } from '../store/audit.ts';
import type { Store } from '../store/db.ts';
import type { Caller } from './caller.ts';

export type AuditInput = {
  action: string;
  subject: string | null;
  detail?: Record<string, unknown>;
};

export type Audit = { record(entry: AuditInput): Promise<void> };

/** Actions written in batches after the request (reads); the rest are written before it answers. */
export const isBufferedAction = (action: string) => action.startsWith('read.');

export function auditFor(store: Store, caller: Caller | null): Audit {
  const trail = auditTrailFor(store);
  const loader = new DataLoader<AuditInput, true, string>(
    async (entries) => {
      const rows = auditRows(caller, entries);
      const buffered = rows.filter((r) => isBufferedAction(r.action));
      await Promise.all([
        trail.append(buffered),
        appendAudit(
          store,
          rows.filter((r) => !isBufferedAction(r.action)),
        ),
      ]);
      return entries.map(() => true as const);
    },
    { cacheKeyFn: (e) => `${e.action}\u0000${e.subject ?? ''}` },
  );
  return {
    async record(entry) {
      await loader.load(entry);
    },
  };
}

function auditRows(
  caller: Pick<Caller, 'keyId' | 'role'> | null,
  entries: readonly AuditInput[],
): AuditEntry[] {
  return entries.map((e) => ({
    actor: caller?.keyId ?? null,
    role: caller?.role ?? 'local',
    action: e.action,
    subject: e.subject,
    detail: e.detail ?? {},
  }));
}

export function writeAudit(
  store: Pick<Store, 'query'>,
  caller: Pick<Caller, 'keyId' | 'role'> | null,
  entries: readonly AuditInput[],
): Promise<void> {
  return appendAudit(store, auditRows(caller, entries));
}

export type AuditTrailOptions = {
  /** how long an entry may wait before its batch is written */
  flushAfterMs: number;
  /** entries per INSERT; a full batch is written at once */
  batch: number;
  /** above this many waiting entries, recording waits for a write (bounded memory) */
  maxPending: number;
};

export type AuditTrail = {
  /** Queues entries; resolves at once unless maxPending are already waiting. */
  append(entries: readonly AuditEntry[]): Promise<void>;
  /** Writes every waiting entry; rejects (keeping them queued) when the database refuses. */
  flush(): Promise<void>;
  pending(): number;
};

const DEFAULT_TRAIL: AuditTrailOptions = { flushAfterMs: 100, batch: 1_000, maxPending: 50_000 };
const trails = new WeakMap<Store, AuditTrail>();

/** The store's audit trail; `options` apply when the first call creates it. */
export function auditTrailFor(store: Store, options: Partial<AuditTrailOptions> = {}): AuditTrail {
  let trail = trails.get(store);
  if (!trail) {
    trail = createAuditTrail(store, { ...DEFAULT_TRAIL, ...options });
    trails.set(store, trail);
    const created = trail;
    store.beforeClose(() => created.flush());
  }
  return trail;
}

function createAuditTrail(store: Store, options: AuditTrailOptions): AuditTrail {
  const waiting: AuditEntry[] = [];
  let timer: NodeJS.Timeout | null = null;
  // one write at a time, in order
  let writing: Promise<void> = Promise.resolve();

  const writeAll = async () => {
    while (waiting.length > 0) {
      const batch = waiting.splice(0, options.batch);
      try {
        await appendAudit(store, batch);
      } catch (error) {
        // back in front, in order, for the next flush
        waiting.unshift(...batch);
        throw error;
      }
    }
  };
  const flush = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    writing = writing.catch(() => {}).then(writeAll);
    return writing;
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      // a failed write keeps its entries and tries again later
      flush().catch(() => schedule());
    }, options.flushAfterMs);
    timer.unref();
  };
  return {
    async append(entries) {
      if (entries.length === 0) return;
      waiting.push(...entries);
      if (waiting.length >= options.maxPending) await flush();
      else if (waiting.length >= options.batch) void flush().catch(() => schedule());
      else schedule();
    },
    flush,
    pending: () => waiting.length,
  };
}
