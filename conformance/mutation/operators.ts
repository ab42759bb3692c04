// The mutants of one TypeScript source file: small, realistic device bugs (an operator
// swapped, a condition forced, a constant off by one, a statement or block left out), found
// on the TypeScript syntax tree, one replacement of a source span each.
//
// Left alone, because a device conformance suite cannot and should not judge them: types,
// imports, the text of thrown errors, and driver findings: the finding and logging calls with
// their arguments, blocks that hold nothing else, and the conditions of `if`s that only decide
// whether a finding is reported (driver findings are judged by device-ref's own tests and the
// driver-side checks, never by conformance of the device, and never cross the qtest socket).

import ts from 'typescript';

export interface Mutant {
  /** Path from the package root, with forward slashes: `device-ref/iommu/map.ts`. */
  file: string;
  /** 1-based line and column of the mutated span's start. */
  line: number;
  column: number;
  /** Character offsets of the span in the file. */
  start: number;
  end: number;
  /** Which kind of change: `EqualityOperator`, `ConditionalExpression`, … */
  mutator: string;
  /** The span's text, and what replaces it. */
  original: string;
  replacement: string;
}

const BINARY_SWAPS: Partial<Record<ts.SyntaxKind, { mutator: string; to: string[] }>> = {
  [ts.SyntaxKind.LessThanToken]: { mutator: 'EqualityOperator', to: ['<=', '>='] },
  [ts.SyntaxKind.LessThanEqualsToken]: { mutator: 'EqualityOperator', to: ['<', '>'] },
  [ts.SyntaxKind.GreaterThanToken]: { mutator: 'EqualityOperator', to: ['>=', '<='] },
  [ts.SyntaxKind.GreaterThanEqualsToken]: { mutator: 'EqualityOperator', to: ['>', '<'] },
  [ts.SyntaxKind.EqualsEqualsEqualsToken]: { mutator: 'EqualityOperator', to: ['!=='] },
  [ts.SyntaxKind.ExclamationEqualsEqualsToken]: { mutator: 'EqualityOperator', to: ['==='] },
  [ts.SyntaxKind.EqualsEqualsToken]: { mutator: 'EqualityOperator', to: ['!='] },
  [ts.SyntaxKind.ExclamationEqualsToken]: { mutator: 'EqualityOperator', to: ['=='] },
  [ts.SyntaxKind.PlusToken]: { mutator: 'ArithmeticOperator', to: ['-'] },
  [ts.SyntaxKind.MinusToken]: { mutator: 'ArithmeticOperator', to: ['+'] },
  [ts.SyntaxKind.AsteriskToken]: { mutator: 'ArithmeticOperator', to: ['/'] },
  [ts.SyntaxKind.SlashToken]: { mutator: 'ArithmeticOperator', to: ['*'] },
  [ts.SyntaxKind.PercentToken]: { mutator: 'ArithmeticOperator', to: ['*'] },
  [ts.SyntaxKind.AmpersandToken]: { mutator: 'BitwiseOperator', to: ['|'] },
  [ts.SyntaxKind.BarToken]: { mutator: 'BitwiseOperator', to: ['&'] },
  [ts.SyntaxKind.CaretToken]: { mutator: 'BitwiseOperator', to: ['&'] },
  [ts.SyntaxKind.LessThanLessThanToken]: { mutator: 'BitwiseOperator', to: ['>>'] },
  [ts.SyntaxKind.GreaterThanGreaterThanToken]: { mutator: 'BitwiseOperator', to: ['<<'] },
  [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken]: {
    mutator: 'BitwiseOperator',
    to: ['>>'],
  },
  [ts.SyntaxKind.AmpersandAmpersandToken]: { mutator: 'LogicalOperator', to: ['||'] },
  [ts.SyntaxKind.BarBarToken]: { mutator: 'LogicalOperator', to: ['&&'] },
  [ts.SyntaxKind.QuestionQuestionToken]: { mutator: 'LogicalOperator', to: ['&&'] },
  [ts.SyntaxKind.PlusEqualsToken]: { mutator: 'AssignmentOperator', to: ['-='] },
  [ts.SyntaxKind.MinusEqualsToken]: { mutator: 'AssignmentOperator', to: ['+='] },
  [ts.SyntaxKind.AmpersandEqualsToken]: { mutator: 'AssignmentOperator', to: ['|='] },
  [ts.SyntaxKind.BarEqualsToken]: { mutator: 'AssignmentOperator', to: ['&='] },
  [ts.SyntaxKind.LessThanLessThanEqualsToken]: { mutator: 'AssignmentOperator', to: ['>>='] },
  [ts.SyntaxKind.GreaterThanGreaterThanEqualsToken]: {
    mutator: 'AssignmentOperator',
    to: ['<<='],
  },
};

/** Calls whose arguments are messages for people, not device behaviour. */
const MESSAGE_CALL =
  /(^|\.)(#?findings\.(report|observe|add)|#?finding|console\.\w+|hex)$|^(report|observe|finding)$/;

function isStringish(node: ts.Node): boolean {
  return (
    ts.isStringLiteral(node) ||
    ts.isTemplateExpression(node) ||
    ts.isNoSubstitutionTemplateLiteral(node)
  );
}

function isMessageCall(node: ts.Node): node is ts.CallExpression {
  return ts.isCallExpression(node) && MESSAGE_CALL.test(node.expression.getText());
}

/** A statement that does nothing but report findings or log. */
function isFindingOnly(node: ts.Statement): boolean {
  if (ts.isExpressionStatement(node)) return isMessageCall(node.expression);
  if (ts.isBlock(node)) return node.statements.length > 0 && node.statements.every(isFindingOnly);
  return false;
}

/** Calls that only ask (device-ref's queries and the number conversions): they change nothing. */
const QUERY_CALL = /(^|\.)(negotiated|isAllZero|contains)$|^(BigInt|Number)$/;

/**
 * An expression whose evaluation changes nothing: no assignment, update, `new`, `await`, nor a
 * call other than a query.
 */
function isPure(node: ts.Node): boolean {
  if (
    (ts.isCallExpression(node) && !QUERY_CALL.test(node.expression.getText())) ||
    ts.isNewExpression(node) ||
    ts.isAwaitExpression(node) ||
    ts.isPostfixUnaryExpression(node) ||
    (ts.isPrefixUnaryExpression(node) &&
      (node.operator === ts.SyntaxKind.PlusPlusToken ||
        node.operator === ts.SyntaxKind.MinusMinusToken)) ||
    (ts.isBinaryExpression(node) &&
      node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      node.operatorToken.kind <= ts.SyntaxKind.LastAssignment)
  )
    return false;
  return ts.forEachChild(node, (child) => (isPure(child) ? undefined : true)) === undefined;
}

/** `if (pure condition) report(…)`: the condition decides a finding and nothing else. */
function isFindingGate(node: ts.Node): boolean {
  return (
    ts.isIfStatement(node) &&
    isFindingOnly(node.thenStatement) &&
    (node.elseStatement === undefined || isFindingOnly(node.elseStatement)) &&
    isPure(node.expression)
  );
}

/** Subtrees that hold no device behaviour to mutate. */
function isLeftAlone(node: ts.Node): boolean {
  return (
    ts.isTypeNode(node) ||
    ts.isImportDeclaration(node) ||
    ts.isExportDeclaration(node) ||
    ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) ||
    ts.isThrowStatement(node) ||
    isMessageCall(node) ||
    isFindingGate(node) ||
    (ts.isBlock(node) && isFindingOnly(node)) ||
    isStringish(node) ||
    (ts.isNewExpression(node) && /Error$/.test(node.expression.getText()))
  );
}

/** Every mutant of `source` (the text of `file`), in source order. */
export function findMutants(file: string, source: string): Mutant[] {
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const mutants: Mutant[] = [];
  const add = (
    node: ts.Node,
    mutator: string,
    replacement: string,
    span?: [number, number],
  ): void => {
    const [start, end] = span ?? [node.getStart(tree), node.getEnd()];
    const { line, character } = tree.getLineAndCharacterOfPosition(start);
    mutants.push({
      file,
      line: line + 1,
      column: character + 1,
      start,
      end,
      mutator,
      original: source.slice(start, end),
      replacement,
    });
  };
  /** The node's text with its operator token replaced. */
  const withOperator = (node: ts.BinaryExpression, operator: string): string =>
    source.slice(node.getStart(tree), node.operatorToken.getStart(tree)) +
    operator +
    source.slice(node.operatorToken.getEnd(), node.getEnd());

  const visit = (node: ts.Node): void => {
    if (isLeftAlone(node)) return;
    if (ts.isBinaryExpression(node)) {
      const swap = BINARY_SWAPS[node.operatorToken.kind];
      const concatenation =
        node.operatorToken.kind === ts.SyntaxKind.PlusToken &&
        (isStringish(node.left) || isStringish(node.right));
      if (swap !== undefined && !concatenation) {
        for (const to of swap.to) add(node, swap.mutator, withOperator(node, to));
      }
    }
    const condition =
      ts.isIfStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node)
        ? node.expression
        : ts.isConditionalExpression(node)
          ? node.condition
          : ts.isForStatement(node)
            ? node.condition
            : undefined;
    if (condition !== undefined && !isBooleanLiteral(condition)) {
      // A loop forced to `true` only hangs: a timeout, never a bug a test could name.
      const loop = !ts.isIfStatement(node) && !ts.isConditionalExpression(node);
      for (const value of loop ? ['false'] : ['true', 'false']) {
        add(condition, 'ConditionalExpression', value);
      }
    }
    if (node.kind === ts.SyntaxKind.TrueKeyword) add(node, 'BooleanLiteral', 'false');
    if (node.kind === ts.SyntaxKind.FalseKeyword) add(node, 'BooleanLiteral', 'true');
    if (ts.isPrefixUnaryExpression(node)) {
      const operand = node.operand.getText(tree);
      if (node.operator === ts.SyntaxKind.ExclamationToken) add(node, 'UnaryOperator', operand);
      if (node.operator === ts.SyntaxKind.TildeToken) add(node, 'UnaryOperator', operand);
      if (node.operator === ts.SyntaxKind.PlusPlusToken)
        add(node, 'UpdateOperator', `--${operand}`);
      if (node.operator === ts.SyntaxKind.MinusMinusToken)
        add(node, 'UpdateOperator', `++${operand}`);
    }
    if (ts.isPostfixUnaryExpression(node)) {
      const operand = node.operand.getText(tree);
      const to = node.operator === ts.SyntaxKind.PlusPlusToken ? '--' : '++';
      add(node, 'UpdateOperator', `${operand}${to}`);
    }
    if (ts.isNumericLiteral(node)) add(node, 'NumberLiteral', String(Number(node.text) + 1));
    if (ts.isBigIntLiteral(node)) {
      add(node, 'NumberLiteral', `${BigInt(node.text.slice(0, -1)) + 1n}n`);
    }
    if (ts.isBlock(node) && node.statements.length > 0 && !isFunctionBodyOfConstructor(node)) {
      add(node, 'BlockStatement', '{}');
    }
    if (ts.isExpressionStatement(node) && !isMessageCall(node.expression)) {
      add(node, 'StatementRemoval', ';');
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(tree, visit);
  return mutants;
}

function isBooleanLiteral(node: ts.Node): boolean {
  return node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword;
}

/** A constructor left empty leaves private fields unset: a crash, not a device bug. */
function isFunctionBodyOfConstructor(block: ts.Block): boolean {
  return ts.isConstructorDeclaration(block.parent);
}

/** The file's text with the mutant applied. */
export function applyMutant(source: string, mutant: Mutant): string {
  if (source.slice(mutant.start, mutant.end) !== mutant.original) {
    throw new Error(
      `${mutant.file}:${mutant.line}: the source changed since its mutants were found`,
    );
  }
  return source.slice(0, mutant.start) + mutant.replacement + source.slice(mutant.end);
}
