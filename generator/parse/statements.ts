// Requirement items → statements: the ID, the level (its one keyword, or DEFINED under a
// "… definitions:" heading), the text, the names it uses and its scenarios. Each accepted item
// is marked with its statement's ID (data.ts).

import type { VFile } from 'vfile';
import type { Level, Scenario, SourcePlace, Statement } from '../model.js';
import type { CollectedRequirement } from './collect.js';
import './data.js';
import { definedWordsIn, keywordsIn } from './keywords.js';
import { placeOf, plainText } from './markdown-walk.js';
import { isStatementId } from './rules/bad-id.js';
import { isFreeOfDefined } from './rules/defined-in-requirement.js';
import { isKeywordFree } from './rules/definition-keyword.js';
import { isNewId } from './rules/duplicate-id.js';
import { areLevelKeywords } from './rules/keyword.js';
import { hasOneKeyword } from './rules/keyword-count.js';
import { requirementId } from './rules/missing-id.js';
import { isNotRetired } from './rules/retired-id.js';
import { reportScenarioErrors } from './rules/scenario.js';
import type { ScenarioParser } from './scenario.js';

/** The IDs retired from use: one per line of `file`, `#` comments allowed. */
export function readRetired(file: VFile | undefined): Set<string> {
  const ids = new Set<string>();
  for (const line of String(file?.value ?? '').split('\n')) {
    const id = line.replace(/#.*$/, '').trim();
    if (id) ids.add(id);
  }
  return ids;
}

export function readStatements(
  requirements: readonly CollectedRequirement[],
  scenarioParser: ScenarioParser,
  retired: ReadonlySet<string>,
): { statements: Statement[]; ids: Map<string, SourcePlace> } {
  const statements: Statement[] = [];
  const ids = new Map<string, SourcePlace>();
  for (const req of requirements) {
    const statement = readStatement(req, scenarioParser);
    if (!statement) continue;
    if (!isNewId(req.file, statement, ids) || !isNotRetired(req.file, statement, retired)) continue;
    ids.set(statement.id, statement.source);
    statements.push(statement);
    req.item.data = { ...req.item.data, statement: statement.id };
  }
  return { statements, ids };
}

function readStatement(
  req: CollectedRequirement,
  scenarioParser: ScenarioParser,
): Statement | undefined {
  const idNode = requirementId(req);
  if (!idNode || !isStatementId(req, idNode)) return undefined;
  const id = idNode.value;
  const level = statementLevel(req, idNode);
  if (!level) return undefined;
  const text = req.paragraphs.map(plainText).join(' ').slice(id.length).trim();
  const names: string[] = [];
  req.paragraphs.forEach((p) =>
    p.children.forEach((c, i) => {
      if (
        c.type === 'inlineCode' &&
        !(p === req.paragraphs[0] && i === 0) &&
        !names.includes(c.value)
      )
        names.push(c.value);
    }),
  );
  const scenarios: Scenario[] = req.scenarios.map((code, n) => {
    const { steps, errors } = scenarioParser.parse(code.value);
    reportScenarioErrors(req.file, code, errors);
    return { id: `${id}#${n + 1}`, source: placeOf(req.file, code), text: code.value, steps };
  });
  return {
    id,
    role: req.role,
    level,
    section: req.section,
    text,
    names,
    scenarios,
    source: idNode.source,
  };
}

/**
 * The level of a requirement item: its one RFC 2119 keyword; or DEFINED for an item under a
 * "… definitions:" heading, which holds no keyword at all. Undefined when a rule reported.
 */
function statementLevel(
  req: CollectedRequirement,
  id: { value: string; source: SourcePlace },
): Level | undefined {
  const keywords = req.paragraphs.flatMap((p) => keywordsIn(req.file, p));
  if (req.definition) return isKeywordFree(req, id.value, keywords) ? 'DEFINED' : undefined;
  const definedWords = req.paragraphs.flatMap((p) => definedWordsIn(req.file, p));
  if (!isFreeOfDefined(req, id.value, keywords, definedWords)) return undefined;
  if (!areLevelKeywords(req, keywords) || !hasOneKeyword(req, id, keywords)) return undefined;
  return keywords[0].keyword as Level;
}
