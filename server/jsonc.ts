// JSON with comments and trailing commas (JSONC; Dokku reads app.json as HuJSON, the same
// superset), parsed with Microsoft's jsonc-parser, the parser of VS Code. The one home of that
// library: everything else gets plain values, or a syntax error with its line and column.
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

/** A syntax error in a JSONC text: what is wrong, and where (1-based line and column). */
export class JsoncSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  readonly problem: string;

  constructor(problem: string, line: number, column: number) {
    super(`line ${line}, column ${column}: ${problem}`);
    this.problem = problem;
    this.line = line;
    this.column = column;
  }
}

/** jsonc-parser's error codes, in words. */
const PROBLEMS: Readonly<Record<string, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected a colon',
  CommaExpected: 'expected a comma',
  CloseBraceExpected: 'expected a closing }',
  CloseBracketExpected: 'expected a closing ]',
  EndOfFileExpected: 'unexpected text after the end of the document',
  InvalidCommentToken: 'unexpected comment',
  UnexpectedEndOfComment: 'a /* comment is never closed',
  UnexpectedEndOfString: 'a string is never closed',
  UnexpectedEndOfNumber: 'a number is cut short',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape sequence',
  InvalidCharacter: 'a control character inside a string',
};

/** The 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lastBreak };
}

/**
 * The value of a parsed node. Objects are built with defineProperty, so a `__proto__` key is an
 * ordinary own property (plain assignment, as JSON-like parsers do, would swap the prototype).
 */
function valueOf(node: Node): unknown {
  if (node.type === 'array') return (node.children ?? []).map(valueOf);
  if (node.type !== 'object') return node.value;
  const out: Record<string, unknown> = {};
  for (const prop of node.children ?? []) {
    const [key, value] = prop.children ?? [];
    if (!key || !value) continue;
    Object.defineProperty(out, String(key.value), { value: valueOf(value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Parses JSONC text (comments, trailing commas); throws JsoncSyntaxError at the first syntax error. */
export function parseJsonc(text: string): unknown {
  const errors: ParseError[] = [];
  // A byte order mark (editors on Windows write one) is read as the space it stands for, so that
  // offsets, and the columns of errors, stay those of the file.
  const source = text.startsWith('\uFEFF') ? ` ${text.slice(1)}` : text;
  const tree = parseTree(source, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const [first] = errors;
  if (first) {
    const at = lineAndColumn(text, first.offset);
    throw new JsoncSyntaxError(PROBLEMS[printParseErrorCode(first.error)] ?? printParseErrorCode(first.error), at.line, at.column);
  }
  if (!tree) {
    const at = lineAndColumn(text, text.length);
    throw new JsoncSyntaxError('expected a value', at.line, at.column);
  }
  return valueOf(tree);
}
