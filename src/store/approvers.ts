// Who an approval falls to, in SQL: shared by exception requests and escalation steps, whose
// tables both carry subject_kind and subject_id.

/**
 * A condition true when the approval (its approver kind in `approver`, an SQL expression)
 * falls to the person in parameter `param` as the subject's manager or team owner. Never
 * the subject themselves.
 */
export function approvableBySql(approver: string, param: string): string {
  return `subject_id <> ${param} and (
     (${approver} = 'manager' and subject_kind = 'person'
        and subject_id in (select id from people where manager_id = ${param}))
     or (${approver} = 'team_owner' and (
          (subject_kind = 'team' and subject_id in (select id from teams where owner = ${param}))
          or (subject_kind = 'person' and subject_id in (
                select p.id from people p join teams t on t.id = p.team_id where t.owner = ${param})))))`;
}

/** The manager of a person subject (null for teams and the org), as an output column. */
export const SUBJECT_MANAGER_COLUMN = `case when subject_kind = 'person'
       then (select p.manager_id from people p where p.id = subject_id) end as "subjectManager"`;
