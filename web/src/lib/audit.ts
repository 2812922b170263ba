// The audit log's filter form as query variables: blank fields are no filter, dates are
// whole UTC days (the `to` day is exclusive, as the API's `to`).

export type AuditFilterForm = {
  action: string;
  actor: string;
  subject: string;
  /** YYYY-MM-DD or empty */
  from: string;
  /** YYYY-MM-DD or empty, exclusive */
  to: string;
};

export const EMPTY_AUDIT_FILTER: AuditFilterForm = {
  action: '',
  actor: '',
  subject: '',
  from: '',
  to: '',
};

export type AuditFilterVariables = {
  action: string | null;
  actor: string | null;
  subject: string | null;
  from: string | null;
  to: string | null;
};

export function auditFilterVariables(form: AuditFilterForm): AuditFilterVariables {
  const text = (v: string) => v.trim() || null;
  const day = (v: string) => (v.trim() ? `${v.trim()}T00:00:00.000Z` : null);
  return {
    action: text(form.action),
    actor: text(form.actor),
    subject: text(form.subject),
    from: day(form.from),
    to: day(form.to),
  };
}
