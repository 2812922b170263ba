// Event writes: batches of up to 5,000 rows through the same loader as `quotient import`.
// Input fields are nullable on purpose: the loader validates each row and rejects a bad one
// with a reason, while the rest of the batch lands.

import { BatchTooLargeError, MAX_BATCH_ROWS } from '../../app/errors.ts';
import { ingestTogether } from '../../store/ingest-queue.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { ROWS_CHECK_TEXT } from '../text-arguments.ts';
import { batchRows, IngestSummaryRef, toIngestSummary, withoutNulls } from './ingest-result.ts';

const UsageInput = builder.inputType('UsageInput', {
  description: 'One model call, as in the native `usage` record.',
  fields: (t) => ({
    id: t.string({ required: false, description: 'Unique event id; makes re-sending idempotent.' }),
    ts: t.string({ required: false, description: 'ISO 8601 time of the call.' }),
    person: t.string({ required: false }),
    team: t.string({ required: false }),
    model: t.string({ required: false }),
    provider: t.string({ required: false }),
    inputTokens: t.int({ required: false }),
    outputTokens: t.int({ required: false }),
    cacheReadTokens: t.int({ required: false }),
    cacheWriteTokens: t.int({ required: false }),
    project: t.string({ required: false }),
    environment: t.string({ required: false, description: '`production` or `sandbox`.' }),
    task: t.string({ required: false }),
  }),
});

const MeasureInput = builder.inputType('MeasureInput', {
  description: 'One named measure of an outcome, e.g. `{ name: "review_score", value: 4.5 }`.',
  fields: (t) => ({
    name: t.string({ required: true }),
    value: t.float({ required: true }),
  }),
});

const OutcomeInput = builder.inputType('OutcomeInput', {
  description: 'The outcome of a task, as in the native `outcome` record.',
  fields: (t) => ({
    id: t.string({ required: false }),
    ts: t.string({ required: false }),
    person: t.string({ required: false }),
    task: t.string({ required: false }),
    outcome: t.string({
      required: false,
      description: '`accepted`, `rejected`, `reworked` or `completed`.',
    }),
    minutesSaved: t.float({ required: false }),
    project: t.string({ required: false, description: 'The project the task was for.' }),
    model: t.string({ required: false, description: 'The model the task used.' }),
    measures: t.field({
      type: [MeasureInput],
      required: false,
      description:
        'Named numeric measures (a reviewer score, cycle time …) that policies declare with `measure`.',
    }),
  }),
});

const ComplianceInput = builder.inputType('ComplianceInput', {
  description: 'A compliance flag, as in the native `compliance` record.',
  fields: (t) => ({
    id: t.string({ required: false }),
    ts: t.string({ required: false }),
    person: t.string({ required: false }),
    flag: t.string({
      required: false,
      description: '`redaction_failure`, `sensitive_data` or `policy_exception`.',
    }),
    severity: t.string({ required: false }),
  }),
});

async function record(ctx: Context, type: string, rows: Record<string, unknown>[]) {
  if (rows.length > MAX_BATCH_ROWS) throw new BatchTooLargeError(rows.length);
  const result = await ingestTogether(
    ctx.store,
    batchRows(rows.map((fields) => ({ type, ...withoutNulls(fields) }))),
    'api',
  );
  return toIngestSummary(ctx, result);
}

builder.mutationFields((t) => ({
  recordUsage: t.field({
    type: IngestSummaryRef,
    authScopes: { writeEvents: true },
    description: 'Record up to 5,000 usage events. Cost is priced by the active policy.',
    args: { rows: t.arg({ type: [UsageInput], required: true }) },
    errors: { types: [BatchTooLargeError], directResult: true },
    extensions: ROWS_CHECK_TEXT,
    resolve: (_root, { rows }, ctx) =>
      record(
        ctx,
        'usage',
        rows.map((r) => ({
          id: r.id,
          ts: r.ts,
          person: r.person,
          team: r.team,
          model: r.model,
          provider: r.provider,
          input_tokens: r.inputTokens,
          output_tokens: r.outputTokens,
          cache_read_tokens: r.cacheReadTokens,
          cache_write_tokens: r.cacheWriteTokens,
          project: r.project,
          environment: r.environment,
          task: r.task,
        })),
      ),
  }),
  recordOutcomes: t.field({
    type: IngestSummaryRef,
    authScopes: { writeEvents: true },
    description: 'Record up to 5,000 task outcomes.',
    args: { rows: t.arg({ type: [OutcomeInput], required: true }) },
    errors: { types: [BatchTooLargeError], directResult: true },
    extensions: ROWS_CHECK_TEXT,
    resolve: (_root, { rows }, ctx) =>
      record(
        ctx,
        'outcome',
        rows.map((r) => ({
          id: r.id,
          ts: r.ts,
          person: r.person,
          task: r.task,
          outcome: r.outcome,
          minutes_saved: r.minutesSaved,
          project: r.project,
          model: r.model,
          measures: r.measures,
        })),
      ),
  }),
  recordCompliance: t.field({
    type: IngestSummaryRef,
    authScopes: { writeEvents: true },
    description: 'Record up to 5,000 compliance flags.',
    args: { rows: t.arg({ type: [ComplianceInput], required: true }) },
    errors: { types: [BatchTooLargeError], directResult: true },
    extensions: ROWS_CHECK_TEXT,
    resolve: (_root, { rows }, ctx) =>
      record(
        ctx,
        'compliance',
        rows.map((r) => ({
          id: r.id,
          ts: r.ts,
          person: r.person,
          flag: r.flag,
          severity: r.severity,
        })),
      ),
  }),
}));
