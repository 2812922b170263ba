// `viewer`: who the caller is. Every role may ask.

import { CAPABILITIES, type Capability, can } from '../../app/roles.ts';
import { builder } from '../builder.ts';

type ViewerShape = { keyId: string; name: string; role: string; person: string | null };

const Viewer = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'The API key making this request.',
  fields: (t) => ({
    keyId: t.exposeString('keyId'),
    keyName: t.exposeString('name'),
    role: t.exposeString('role'),
    person: t.exposeString('person', {
      nullable: true,
      description: 'The person a member key is bound to.',
    }),
    capabilities: t.stringList({
      description: 'What this role may do (see the role table in the docs).',
      resolve: (v) =>
        (Object.keys(CAPABILITIES) as Capability[]).filter((c) => can(v.role as never, c)),
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    resolve: (_root, _args, ctx) => ctx.caller,
  }),
);
