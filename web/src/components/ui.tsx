// Small shared pieces: loading, empty and error states, bands, cards.
import type { CombinedError } from '@urql/core';
import type { ReactNode } from 'react';
import { plainError } from '../lib/format.ts';

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function ErrorBox({ error }: { error: CombinedError | Error | string }) {
  return (
    <div className="error" role="alert">
      {plainError(error)}
    </div>
  );
}

export function Band({ band }: { band: string | null | undefined }) {
  if (!band) return null;
  return <span className={`band band-${band}`}>{band}</span>;
}

export function Card({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section className="card" aria-labelledby={headingId} id={id}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}
