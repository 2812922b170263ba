// Roles and what each may do. This table is the single source for scope-auth, the docs and
// the role × operation test.

export const ROLES = ['ingest', 'member', 'viewer', 'governance', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Capabilities are the scope-auth scopes; each lists the roles that hold it. */
export const CAPABILITIES = {
  /** write usage, outcome and compliance events */
  writeEvents: ['ingest', 'admin'],
  /** create or update teams and people */
  writeDirectory: ['ingest', 'governance', 'admin'],
  /** read the directory (masked below governance) */
  readDirectory: ['member', 'viewer', 'governance', 'admin'],
  /** read policy versions and check policy text */
  readPolicies: ['member', 'viewer', 'governance', 'admin'],
  /** chargeback: spend by cost centre and team (below governance: visible teams, k-suppressed) */
  readSpend: ['viewer', 'governance', 'admin'],
  /** a manager's view of the people who name them as manager: named, every read audited */
  readReports: ['member', 'governance', 'admin'],
  /** publish and activate policies, change anyone's opt-in, see names */
  governance: ['governance', 'admin'],
  /** change one's own settings (members, bound to a person) */
  self: ['member', 'governance', 'admin'],
  /** manage keys and webhooks */
  admin: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Capability = keyof typeof CAPABILITIES;

export function can(role: Role, capability: Capability): boolean {
  return (CAPABILITIES[capability] as readonly Role[]).includes(role);
}

/** Roles that see real identities; every such read of an individual is audited. */
export function seesNames(role: Role): boolean {
  return can(role, 'governance');
}
