// `bad-id`: a statement ID is `dev.topic.name` or `drv.topic.name` in lower case with dots and
// dashes, and its prefix says its role: `dev.` under device statements, `drv.` under driver ones.

import { specError } from '../../messages.js';
import type { CollectedRequirement } from '../collect.js';

const STATEMENT_ID = /^(dev|drv)\.[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)+$/;

/** True for a well-formed ID of the item's role; otherwise reported. */
export function isStatementId(
  req: CollectedRequirement,
  id: NonNullable<CollectedRequirement['id']>,
): boolean {
  const prefix = req.role === 'device' ? 'dev.' : 'drv.';
  let reason: string | undefined;
  if (!STATEMENT_ID.test(id.value))
    reason = `\`${id.value}\` is not a statement ID: write \`${prefix}topic.name\` in lower case with dots and dashes`;
  else if (!id.value.startsWith(prefix))
    reason = `\`${id.value}\` sits under ${req.role} statements, so its ID must start with \`${prefix}\``;
  if (reason) specError(req.file, reason, id.source, 'bad-id');
  return reason === undefined;
}
