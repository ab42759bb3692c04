// Small labels shared by the spec document and the matrix: a statement's role and level, and a
// verdict's class.

import type { Element } from 'hast';
import type { Level, Role } from '../model.js';
import { h } from './hast.js';
import type { VerdictValue } from '../../dist/ts/schemas/conformance-report.js';

/** `MUST NOT` → `level-must-not`. */
export const levelClass = (level: Level): string =>
  `level-${level.toLowerCase().replace(' ', '-')}`;

/** `device · MUST` as one small badge. */
export function statementBadge(role: Role, level: Level): Element {
  const kind = level === 'DEFINED' ? 'definition' : 'requirement';
  return h(
    'span',
    { className: ['badge'], title: `${role} ${kind}, ${level}` },
    h('span', { className: ['role', `role-${role}`] }, role),
    h('span', { className: ['level', levelClass(level)] }, level),
  );
}

/** `draft`: the item belongs to a draft (a proposal), not to the spec. */
export function draftBadge(draft: string): Element {
  return h(
    'span',
    {
      className: ['badge', 'draft-badge'],
      title: `draft ${draft}: proposed, not part of the spec`,
    },
    h('span', { className: ['draft'] }, `draft ${draft}`),
  );
}

export const verdictClass = (verdict: VerdictValue | undefined): string =>
  `verdict-${verdict ?? 'none'}`;
