/**
 * The PromQL parser: a recursive-descent parser over the Prometheus-exact
 * lexer (lex.ts) that accepts the language of Prometheus 2.42's yacc
 * grammar (promql/parser/generated_parser.y) with the same operator
 * precedence, and reports the same first error with the same text and
 * position. Type checks (check.ts) run only on a syntactically valid tree,
 * as Prometheus' `checkAST`.
 *
 * Syntax errors mirror the grammar's error productions: "unexpected X" at
 * the top level, "... in aggregation" inside an aggregation's arguments,
 * and the label-matching, grouping, offset, `@` and subquery variants.
 */
import { MatchType, type Matcher, newMatcher } from '../../labels/matcher.ts';
import { RegexError } from '../../labels/errors.ts';
import { goQuote } from '../../labels/quote.ts';
import { ParseError } from '../errors.ts';
import type {
  AggregateExpr, AggregateOp, BinaryExpr, BinaryOp, Expr, PosRange, VectorMatching, VectorSelector,
} from './ast.ts';
import { checkAST } from './check.ts';
import { getFunction } from './functions.ts';
import { type Item, type ItemType, Lexer, isAggregator, isLabel, itemDesc } from './lex.ts';
import { goFormatF, parseNumber, parsePromDuration, unquote } from './literals.ts';

/** Binary operators by token, with yacc's precedence (higher binds tighter). */
const BINARY: Partial<Record<ItemType, { op: BinaryOp; prec: number }>> = {
  LOR: { op: 'or', prec: 1 },
  LAND: { op: 'and', prec: 2 },
  LUNLESS: { op: 'unless', prec: 2 },
  EQLC: { op: '==', prec: 3 }, NEQ: { op: '!=', prec: 3 }, GTE: { op: '>=', prec: 3 },
  GTR: { op: '>', prec: 3 }, LTE: { op: '<=', prec: 3 }, LSS: { op: '<', prec: 3 },
  ADD: { op: '+', prec: 4 }, SUB: { op: '-', prec: 4 },
  MUL: { op: '*', prec: 5 }, DIV: { op: '/', prec: 5 }, MOD: { op: '%', prec: 5 }, ATAN2: { op: 'atan2', prec: 5 },
  POW: { op: '^', prec: 6 },
};
const POW_PREC = 6;

/** Tokens the grammar accepts as a metric name (`metric_identifier`). */
const METRIC_IDENTIFIER: ReadonlySet<ItemType> = new Set<ItemType>([
  'AVG', 'BOTTOMK', 'BY', 'COUNT', 'COUNT_VALUES', 'GROUP', 'IDENTIFIER', 'LAND', 'LOR', 'LUNLESS', 'MAX',
  'METRIC_IDENTIFIER', 'MIN', 'OFFSET', 'QUANTILE', 'STDDEV', 'STDVAR', 'SUM', 'TOPK', 'WITHOUT', 'START', 'END',
]);

/** Tokens the grammar accepts as a label name in grouping clauses (`maybe_label`). */
const MAYBE_LABEL: ReadonlySet<ItemType> = new Set<ItemType>([
  'AVG', 'BOOL', 'BOTTOMK', 'BY', 'COUNT', 'COUNT_VALUES', 'GROUP', 'GROUP_LEFT', 'GROUP_RIGHT', 'IDENTIFIER',
  'IGNORING', 'LAND', 'LOR', 'LUNLESS', 'MAX', 'METRIC_IDENTIFIER', 'MIN', 'OFFSET', 'ON', 'QUANTILE', 'STDDEV',
  'STDVAR', 'SUM', 'TOPK', 'START', 'END', 'ATAN2',
]);

/** Tokens that can begin an expression. */
const EXPR_START: ReadonlySet<ItemType> = new Set<ItemType>([
  ...METRIC_IDENTIFIER, 'NUMBER', 'STRING', 'LEFT_PAREN', 'LEFT_BRACE', 'ADD', 'SUB',
]);

const MATCH_OPS: Partial<Record<ItemType, MatchType>> = {
  EQL: MatchType.Equal, NEQ: MatchType.NotEqual, EQL_REGEX: MatchType.Regexp, NEQ_REGEX: MatchType.NotRegexp,
};

const WITH_PARAM: ReadonlySet<AggregateOp> = new Set<AggregateOp>(['topk', 'bottomk', 'count_values', 'quantile']);

/**
 * Formats a message as Prometheus' `ParseErr.Error()`:
 * `<line>:<column>: parse error: <msg>`, the column counted in bytes from 1.
 */
export function formatParseError(bytes: Uint8Array, pos: number, msg: string): string {
  if (pos < 0 || pos > bytes.length) return `invalid position: parse error: ${msg}`;
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < pos; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${pos - lastBreak}: parse error: ${msg}`;
}

/** Reports a parse error at a byte range of the query (used by the type checker too). */
export type ErrorSink = (range: PosRange, msg: string) => never;

class Parser {
  private readonly lex: Lexer;
  private readonly bytes: Uint8Array;
  private la: Item | undefined;
  /** End of the last `)`, `}`, `]`, number or duration read (Prometheus' lastClosing). */
  private lastClosing = 0;
  /** How many aggregation argument lists enclose the current position. */
  private aggDepth = 0;

  constructor(input: string) {
    this.lex = new Lexer(input);
    this.bytes = new TextEncoder().encode(input);
  }

  readonly fail: ErrorSink = (range, msg) => {
    throw new ParseError(formatParseError(this.bytes, range.start, msg), range);
  };

  private at(pos: number, msg: string): never {
    return this.fail({ start: pos, end: pos }, msg);
  }

  /** The lookahead token (read on demand, comments skipped; a lexer error is thrown). */
  private peek(): Item {
    if (this.la !== undefined) return this.la;
    let it: Item;
    do it = this.lex.nextItem();
    while (it.typ === 'COMMENT');
    if (it.typ === 'ERROR') this.fail({ start: this.lex.start, end: this.lex.length }, it.val);
    switch (it.typ) {
      case 'RIGHT_BRACE': case 'RIGHT_PAREN': case 'RIGHT_BRACKET': case 'DURATION': case 'NUMBER':
        this.lastClosing = it.pos + Buffer.byteLength(it.val);
    }
    this.la = it;
    return it;
  }

  private consume(): Item {
    const it = this.peek();
    this.la = undefined;
    return it;
  }

  private endOf(it: Item): number {
    return it.pos + Buffer.byteLength(it.val);
  }

  /** A syntax error at the lookahead, worded as Prometheus' `unexpected`. */
  private unexpected(context: string, expected: string): never {
    const it = this.peek();
    let msg = `unexpected ${itemDesc(it)}`;
    if (context !== '') msg += ` in ${context}`;
    if (expected !== '') msg += `, expected ${expected}`;
    return this.fail({ start: it.pos, end: this.endOf(it) }, msg);
  }

  /** A syntax error in a general expression position. */
  private unexpectedExpr(): never {
    return this.unexpected(this.aggDepth > 0 ? 'aggregation' : '', '');
  }

  parseQuery(): Expr {
    if (this.peek().typ === 'EOF') this.at(0, 'no expression found in input');
    const e = this.parseExpr(0);
    if (this.peek().typ !== 'EOF') this.unexpected('', '');
    checkAST(e, this.fail, this.bytes);
    return e;
  }

  /**
   * A lone series selector, as Prometheus' `ParseMetricSelector` (its
   * START_METRIC_SELECTOR grammar): a metric name, label matchers in
   * braces, or both, then the end of the input. No offset, `@` or range,
   * and no type check: `{}` parses (to no matchers), the caller decides.
   */
  parseMetricSelector(): Matcher[] {
    const t = this.peek();
    let matchers: Matcher[];
    if (t.typ === 'LEFT_BRACE') matchers = this.finishSelector('', t.pos).matchers;
    else {
      if (!METRIC_IDENTIFIER.has(t.typ)) this.unexpected('', '');
      this.consume();
      matchers = this.peek().typ === 'LEFT_BRACE' ? this.finishSelector(t.val, t.pos).matchers : [newMatcher(MatchType.Equal, '__name__', t.val)];
    }
    if (this.peek().typ !== 'EOF') this.unexpected('', '');
    return matchers;
  }

  private parseExpr(minPrec: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      const t = this.peek();
      const bin = BINARY[t.typ];
      if (bin === undefined || bin.prec < minPrec) return lhs;
      this.consume();
      const { returnBool, matching } = this.parseBinModifiers();
      const rhs = this.parseExpr(bin.prec === POW_PREC ? bin.prec : bin.prec + 1);
      const e: BinaryExpr = {
        type: 'BinaryExpr', op: bin.op, lhs, rhs, matching, returnBool,
        posRange: { start: lhs.posRange.start, end: rhs.posRange.end },
      };
      lhs = e;
    }
  }

  private parseBinModifiers(): { returnBool: boolean; matching: VectorMatching } {
    const matching: VectorMatching = { card: 'one-to-one', matchingLabels: [], on: false, include: [] };
    let returnBool = false;
    if (this.peek().typ === 'BOOL') {
      this.consume();
      returnBool = true;
    }
    const t = this.peek().typ;
    if (t === 'ON' || t === 'IGNORING') {
      this.consume();
      matching.matchingLabels = this.parseGroupingLabels();
      matching.on = t === 'ON';
      const g = this.peek().typ;
      if (g === 'GROUP_LEFT' || g === 'GROUP_RIGHT') {
        this.consume();
        matching.card = g === 'GROUP_LEFT' ? 'many-to-one' : 'one-to-many';
        if (this.peek().typ === 'LEFT_PAREN') matching.include = this.parseGroupingLabels();
      }
    }
    return { returnBool, matching };
  }

  /** `( label, ... )` after by / without / on / ignoring / group_x. */
  private parseGroupingLabels(): string[] {
    if (this.peek().typ !== 'LEFT_PAREN') this.unexpected('grouping opts', '"("');
    this.consume();
    const labels: string[] = [];
    if (this.peek().typ === 'RIGHT_PAREN') {
      this.consume();
      return labels;
    }
    for (;;) {
      const t = this.peek();
      if (!MAYBE_LABEL.has(t.typ)) this.unexpected('grouping opts', 'label');
      if (!isLabel(t.val)) this.unexpected('grouping opts', 'label');
      this.consume();
      labels.push(t.val);
      const n = this.peek().typ;
      if (n === 'COMMA') {
        this.consume();
        if (this.peek().typ === 'RIGHT_PAREN') {
          this.consume();
          return labels;
        }
      } else if (n === 'RIGHT_PAREN') {
        this.consume();
        return labels;
      } else {
        this.unexpected('grouping opts', '"," or ")"');
      }
    }
  }

  /** Unary +/- (binding like `*`, so `-a^b` is `-(a^b)`), else a postfixed primary. */
  private parseUnary(): Expr {
    const t = this.peek();
    if (t.typ !== 'ADD' && t.typ !== 'SUB') return this.parsePostfix(this.parsePrimary());
    this.consume();
    const operand = this.parseExpr(POW_PREC);
    if (operand.type === 'NumberLiteral') {
      if (t.typ === 'SUB') operand.val = -operand.val;
      operand.posRange.start = t.pos;
      return operand;
    }
    return {
      type: 'UnaryExpr', op: t.typ === 'SUB' ? '-' : '+', expr: operand,
      posRange: { start: t.pos, end: operand.posRange.end },
    };
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.typ) {
      case 'NUMBER': {
        this.consume();
        const n = parseNumber(t.val);
        if (!n.ok) this.at(t.pos, n.error);
        return { type: 'NumberLiteral', val: n.value, posRange: { start: t.pos, end: this.endOf(t) } };
      }
      case 'STRING':
        this.consume();
        return { type: 'StringLiteral', val: this.unquote(t), posRange: { start: t.pos, end: this.endOf(t) } };
      case 'LEFT_PAREN': {
        this.consume();
        const inner = this.parseExpr(0);
        if (this.peek().typ !== 'RIGHT_PAREN') this.unexpectedExpr();
        const close = this.consume();
        return { type: 'ParenExpr', expr: inner, posRange: { start: t.pos, end: this.endOf(close) } };
      }
      case 'LEFT_BRACE':
        return this.finishSelector('', t.pos);
    }
    if (!METRIC_IDENTIFIER.has(t.typ)) this.unexpectedExpr();
    this.consume();
    const next = this.peek().typ;
    if (t.typ === 'IDENTIFIER' && next === 'LEFT_PAREN') return this.parseCall(t);
    if (isAggregator(t.typ) && (next === 'LEFT_PAREN' || next === 'BY' || next === 'WITHOUT')) {
      return this.parseAggregate(t);
    }
    if (next === 'LEFT_BRACE') return this.finishSelector(t.val, t.pos);
    const vs: VectorSelector = {
      type: 'VectorSelector', name: t.val, matchers: [newMatcher(MatchType.Equal, '__name__', t.val)],
      offset: 0, posRange: { start: t.pos, end: this.endOf(t) },
    };
    return vs;
  }

  private unquote(t: Item): string {
    const u = unquote(t.val);
    if (!u.ok) this.at(t.pos, `error unquoting string ${goQuote(t.val)}: ${u.error}`);
    return u.value;
  }

  /** `{...}` (the lookahead) with an optional name already read. */
  private finishSelector(name: string, start: number): VectorSelector {
    this.consume(); // {
    const matchers: Matcher[] = [];
    let close: Item | undefined;
    if (this.peek().typ === 'RIGHT_BRACE') close = this.consume();
    while (close === undefined) {
      matchers.push(this.parseLabelMatcher());
      const n = this.peek().typ;
      if (n === 'COMMA') {
        this.consume();
        if (this.peek().typ === 'RIGHT_BRACE') close = this.consume();
      } else if (n === 'RIGHT_BRACE') {
        close = this.consume();
      } else {
        this.unexpected('label matching', '"," or "}"');
      }
    }
    if (name !== '') matchers.push(newMatcher(MatchType.Equal, '__name__', name));
    return { type: 'VectorSelector', name, matchers, offset: 0, posRange: { start, end: this.endOf(close) } };
  }

  private parseLabelMatcher(): Matcher {
    const name = this.peek();
    if (name.typ !== 'IDENTIFIER') this.unexpected('label matching', 'identifier or "}"');
    this.consume();
    const type = MATCH_OPS[this.peek().typ];
    if (type === undefined) this.unexpected('label matching', 'label matching operator');
    this.consume();
    const value = this.peek();
    if (value.typ !== 'STRING') this.unexpected('label matching', 'string');
    this.consume();
    const v = this.unquote(value);
    try {
      return newMatcher(type, name.val, v);
    } catch (err) {
      if (!(err instanceof RegexError)) throw err;
      // Prometheus reports Go's regexp error alone, without our "invalid regular expression" prefix.
      const i = err.message.indexOf('error parsing regexp:');
      return this.fail({ start: name.pos, end: this.endOf(value) }, i >= 0 ? err.message.slice(i) : err.message);
    }
  }

  /** `( args )`, with Prometheus' trailing-comma rule. */
  private parseCallBody(): Expr[] {
    this.consume(); // (
    const args: Expr[] = [];
    if (this.peek().typ === 'RIGHT_PAREN') {
      this.consume();
      return args;
    }
    args.push(this.parseExpr(0));
    for (;;) {
      const t = this.peek();
      if (t.typ === 'RIGHT_PAREN') {
        this.consume();
        return args;
      }
      if (t.typ !== 'COMMA') this.unexpectedExpr();
      this.consume();
      if (!EXPR_START.has(this.peek().typ)) this.at(t.pos, 'trailing commas not allowed in function call args');
      args.push(this.parseExpr(0));
    }
  }

  private parseCall(ident: Item): Expr {
    const args = this.parseCallBody();
    const func = getFunction(ident.val);
    if (func === undefined) this.at(ident.pos, `unknown function with name ${goQuote(ident.val)}`);
    return { type: 'Call', func, args, posRange: { start: ident.pos, end: this.lastClosing } };
  }

  private parseAggregate(opTok: Item): AggregateExpr {
    const op = opTok.val.toLowerCase() as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    let modifierFirst = false;
    this.aggDepth++;
    const m = this.peek().typ;
    if (m === 'BY' || m === 'WITHOUT') {
      this.consume();
      grouping = this.parseGroupingLabels();
      without = m === 'WITHOUT';
      modifierFirst = true;
    }
    if (this.peek().typ !== 'LEFT_PAREN') this.unexpected('aggregation', '');
    const args = this.parseCallBody();
    this.aggDepth--;
    if (!modifierFirst) {
      const m2 = this.peek().typ;
      if (m2 === 'BY' || m2 === 'WITHOUT') {
        this.consume();
        grouping = this.parseGroupingLabels();
        without = m2 === 'WITHOUT';
      }
    }
    const posRange = { start: opTok.pos, end: this.lastClosing };
    if (args.length === 0) this.fail(posRange, 'no arguments for aggregate expression provided');
    const desired = WITH_PARAM.has(op) ? 2 : 1;
    if (args.length !== desired) {
      this.fail(posRange, `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`);
    }
    const e: AggregateExpr = { type: 'AggregateExpr', op, expr: args[desired - 1], grouping, without, posRange };
    if (desired === 2) e.param = args[0];
    return e;
  }

  /** Range / subquery brackets, `offset` and `@` after an expression. */
  private parsePostfix(e: Expr): Expr {
    for (;;) {
      const t = this.peek().typ;
      if (t === 'LEFT_BRACKET') e = this.parseBrackets(e);
      else if (t === 'OFFSET') this.parseOffset(e);
      else if (t === 'AT') this.parseAt(e);
      else return e;
    }
  }

  private duration(t: Item): number {
    const d = parsePromDuration(t.val);
    if (!d.ok) return this.at(t.pos, d.error);
    return d.value;
  }

  private parseBrackets(e: Expr): Expr {
    const open = this.consume();
    if (this.peek().typ !== 'DURATION') this.unexpected('subquery selector', 'duration');
    const range = this.duration(this.consume());
    const t = this.peek();
    if (t.typ === 'RIGHT_BRACKET') {
      const close = this.consume();
      let msg = '';
      if (e.type !== 'VectorSelector') msg = 'ranges only allowed for vector selectors';
      else if (e.offset !== 0) msg = 'no offset modifiers allowed before range';
      else if (e.timestamp !== undefined) msg = 'no @ modifiers allowed before range';
      if (msg !== '') this.fail({ start: open.pos, end: this.endOf(close) }, msg);
      return {
        type: 'MatrixSelector', vectorSelector: e as VectorSelector, range,
        posRange: { start: e.posRange.start, end: this.lastClosing },
      };
    }
    if (t.typ !== 'COLON') this.unexpected('subquery or range', '":" or "]"');
    this.consume();
    let step = 0;
    if (this.peek().typ === 'DURATION') {
      step = this.duration(this.consume());
      if (this.peek().typ !== 'RIGHT_BRACKET') this.unexpected('subquery selector', '"]"');
    } else if (this.peek().typ !== 'RIGHT_BRACKET') {
      this.unexpected('subquery selector', 'duration or "]"');
    }
    const close = this.consume();
    return { type: 'SubqueryExpr', expr: e, range, offset: 0, step, posRange: { start: e.posRange.start, end: close.pos + 1 } };
  }

  /** The node an offset / @ applies to, as Prometheus' addOffset / getAtModifierVars. */
  private modifierTarget(e: Expr, what: string): VectorSelector | Extract<Expr, { type: 'SubqueryExpr' }> {
    if (e.type === 'VectorSelector' || e.type === 'SubqueryExpr') return e;
    if (e.type === 'MatrixSelector') return e.vectorSelector;
    return this.fail(e.posRange, `${what} must be preceded by an instant vector selector or range vector selector or a subquery`);
  }

  private parseOffset(e: Expr): void {
    this.consume();
    let neg = false;
    if (this.peek().typ === 'SUB') {
      this.consume();
      neg = true;
    }
    if (this.peek().typ !== 'DURATION') this.unexpected('offset', 'duration');
    const d = this.duration(this.consume());
    const target = this.modifierTarget(e, 'offset modifier');
    if (target.offset !== 0) this.fail(e.posRange, 'offset may not be set multiple times');
    target.offset = neg ? -d : d;
    e.posRange.end = this.lastClosing;
  }

  private parseAt(e: Expr): void {
    this.consume();
    const t = this.peek();
    if (t.typ === 'START' || t.typ === 'END') {
      this.consume();
      if (this.peek().typ !== 'LEFT_PAREN') this.unexpected('@', 'timestamp');
      this.consume();
      if (this.peek().typ !== 'RIGHT_PAREN') this.unexpected('@', 'timestamp');
      this.consume();
      const target = this.atTarget(e);
      target.startOrEnd = t.typ === 'START' ? 'start' : 'end';
      e.posRange.end = this.lastClosing;
      return;
    }
    let sign = 1;
    if (t.typ === 'ADD' || t.typ === 'SUB') {
      this.consume();
      sign = t.typ === 'SUB' ? -1 : 1;
    }
    const num = this.peek();
    if (num.typ !== 'NUMBER') this.unexpected('@', 'timestamp');
    this.consume();
    const n = parseNumber(num.val);
    if (!n.ok) this.at(num.pos, n.error);
    const ts = sign * n.value;
    if (!Number.isFinite(ts) || ts >= 9223372036854775807 || ts <= -9223372036854775808) {
      this.fail(e.posRange, `timestamp out of bounds for @ modifier: ${goFormatF(ts)}`);
    }
    const target = this.atTarget(e);
    target.timestamp = fromFloatSeconds(ts);
    e.posRange.end = this.lastClosing;
  }

  private atTarget(e: Expr): VectorSelector | Extract<Expr, { type: 'SubqueryExpr' }> {
    const target = this.modifierTarget(e, '@ modifier');
    if (target.timestamp !== undefined || target.startOrEnd !== undefined) {
      this.fail(e.posRange, '@ <timestamp> may not be set multiple times');
    }
    return target;
  }
}

/**
 * Prometheus' `timestamp.FromFloatSeconds`: `int64(math.Round(ts * 1000))`.
 * Go rounds halves away from zero; a product beyond int64 converts to
 * MinInt64 on amd64 (the platform of the Debian build used as the oracle),
 * which is what Prometheus then prints and evaluates.
 */
function fromFloatSeconds(ts: number): number {
  const x = ts * 1000;
  const r = Math.sign(x) * Math.round(Math.abs(x));
  if (Math.abs(r) >= 2 ** 63) return -(2 ** 63);
  return r === 0 ? 0 : r;
}

/**
 * Parses and type-checks a PromQL expression as Prometheus 2.42's
 * `parser.ParseExpr`. Throws {@link ParseError} with Prometheus' message
 * (`<line>:<col>: parse error: <what>`) for the first problem found.
 */
export function parseExpr(input: string): Expr {
  return new Parser(input).parseQuery();
}

/**
 * Parses a lone series selector as Prometheus 2.42's
 * `parser.ParseMetricSelector` (what `match[]` takes): its matchers, the
 * metric name's last. Throws {@link ParseError} with Prometheus' message.
 */
export function parseMetricSelector(input: string): Matcher[] {
  return new Parser(input).parseMetricSelector();
}
