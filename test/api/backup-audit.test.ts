// GET /admin/backup hands over every name in the organisation: only an admin key may take
// it, and each backup is audited under that key before the data leaves (docs/privacy.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
}, 120_000);
afterAll(async () => {
  await api?.stop();
});

const backup = (key: string) =>
  fetch(`${api.url}/admin/backup`, { headers: { authorization: `Bearer ${key}` } });

describe.skipIf(!!process.env.DATABASE_URL)('backups over HTTP', () => {
  it('are refused below admin and audited for admin', async () => {
    for (const role of ['viewer', 'ingest', 'governance'] as const) {
      const res = await backup(api.keys[role].key);
      expect(res.status).toBe(403);
      await res.body?.cancel();
    }
    const res = await backup(api.keys.admin.key);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const audit = await api.store.query<Record<string, unknown>>(
      "select actor, role, action from audit_log where action = 'backup.create'",
    );
    expect(audit).toEqual([{ actor: api.keys.admin.id, role: 'admin', action: 'backup.create' }]);
  });
});
