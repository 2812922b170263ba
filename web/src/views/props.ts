import type { SessionView } from '../session.ts';

export type ViewProps = { session: SessionView };
