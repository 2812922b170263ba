// Which views a role is offered. The server enforces privacy on every query; this only
// hides views that would show nothing but "your role may not see this".
import type { Role } from '../session.ts';

export type ViewId =
  | 'me'
  | 'leaderboards'
  | 'budgets'
  | 'inbox'
  | 'usage'
  | 'policies'
  | 'playground'
  | 'audit'
  | 'reports';

export const VIEW_LABELS: Record<ViewId, string> = {
  me: 'Me',
  leaderboards: 'Leaderboards',
  budgets: 'Budgets',
  inbox: 'Inbox',
  usage: 'Usage',
  policies: 'Policies',
  playground: 'Playground',
  audit: 'Audit log',
  reports: 'My reports',
};

export function viewsFor(role: Role, person: string | null | undefined): ViewId[] {
  if (role === 'ingest') return [];
  const views: ViewId[] = [];
  if (person) views.push('me');
  views.push('leaderboards', 'budgets');
  // the inbox lists requests awaiting the caller: a manager's reports, or all for governance
  if (person || role === 'governance' || role === 'admin') views.push('inbox');
  // a manager's view of the people naming them as manager (empty for others)
  if (person && role !== 'viewer') views.push('reports');
  views.push('usage', 'policies', 'playground');
  // the audit log names who read whom: governance and admin only (the API refuses others)
  if (seesNames(role)) views.push('audit');
  return views;
}

export function seesNames(role: Role): boolean {
  return role === 'governance' || role === 'admin';
}
