// Cursor paging for the views' lists: a stack of the cursors before this page (so "back"
// needs no backward cursor from the server) and the two buttons.
import { useState } from 'react';

export type CursorPages = {
  /** the cursor to ask with for this page (null: the first) */
  after: string | null;
  /** 1-based */
  page: number;
  back: () => void;
  forward: (endCursor: string | null) => void;
  reset: () => void;
};

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    after: cursors[cursors.length - 1],
    page: cursors.length,
    back: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    forward: (endCursor) => setCursors((c) => [...c, endCursor]),
    reset: () => setCursors([null]),
  };
}

export function Pager({
  pages,
  pageInfo,
  labels,
}: {
  pages: CursorPages;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null } | null | undefined;
  labels: { back: string; forward: string };
}) {
  const hasNext = pageInfo?.hasNextPage ?? false;
  if (pages.page === 1 && !hasNext) return null;
  return (
    <div className="actions">
      <button type="button" disabled={pages.page === 1} onClick={pages.back}>
        {labels.back}
      </button>
      <span className="muted">Page {pages.page}</span>
      <button
        type="button"
        disabled={!hasNext}
        onClick={() => pages.forward(pageInfo?.endCursor ?? null)}
      >
        {labels.forward}
      </button>
    </div>
  );
}
