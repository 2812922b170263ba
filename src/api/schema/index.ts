// The schema: one import per domain file. Add new domains here.
import { builder } from '../builder.ts';
import { checkTextArguments } from '../text-arguments.ts';
import './scalars.ts';
import './errors.ts';
import './viewer.ts';
import './directory.ts';
import './ingest.ts';
import './policies.ts';
import './keys.ts';
import './policy-review.ts';
import './usage.ts';
import './budgets.ts';
import './quota.ts';
import './leaderboard.ts';
import './escalations.ts';
import './exceptions.ts';
import './webhooks.ts';
import './standing.ts';
import './badges.ts';
import './seasons.ts';
import './notifications.ts';
import './pricing.ts';
import './audit.ts';
import './spend.ts';
import './metrics.ts';
import './reports.ts';

// every text argument is checked for what PostgreSQL cannot hold before its resolver runs
export const schema = checkTextArguments(builder.toSchema({ sortSchema: true }));
