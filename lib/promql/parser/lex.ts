/**
 * The PromQL lexer, mirroring the state machine of Prometheus 2.42's
 * promql/parser/lex.go so that tokens, their byte positions and the lexer's
 * error messages are the same as Prometheus'. Positions are byte offsets in
 * the UTF-8 encoding of the query.
 */
import { goQuote } from '../../labels/quote.ts';

/** Token types, named as in Prometheus' generated parser. */
export type ItemType =
  | 'EOF' | 'ERROR' | 'COMMENT'
  | 'IDENTIFIER' | 'METRIC_IDENTIFIER' | 'NUMBER' | 'STRING' | 'DURATION'
  | 'LEFT_PAREN' | 'RIGHT_PAREN' | 'LEFT_BRACE' | 'RIGHT_BRACE' | 'LEFT_BRACKET' | 'RIGHT_BRACKET'
  | 'COMMA' | 'EQL' | 'COLON'
  // operators
  | 'ADD' | 'DIV' | 'EQLC' | 'EQL_REGEX' | 'GTE' | 'GTR' | 'LAND' | 'LOR' | 'LSS' | 'LTE' | 'LUNLESS'
  | 'MOD' | 'MUL' | 'NEQ' | 'NEQ_REGEX' | 'POW' | 'SUB' | 'AT' | 'ATAN2'
  // aggregators
  | 'AVG' | 'BOTTOMK' | 'COUNT' | 'COUNT_VALUES' | 'GROUP' | 'MAX' | 'MIN' | 'QUANTILE' | 'STDDEV' | 'STDVAR' | 'SUM' | 'TOPK'
  // keywords
  | 'BOOL' | 'BY' | 'GROUP_LEFT' | 'GROUP_RIGHT' | 'IGNORING' | 'OFFSET' | 'ON' | 'WITHOUT'
  // preprocessors
  | 'START' | 'END';

/** One token: type, byte position and text (for ERROR: the message). */
export interface Item {
  typ: ItemType;
  pos: number;
  val: string;
}

const OPERATORS: ReadonlySet<ItemType> = new Set<ItemType>([
  'ADD', 'DIV', 'EQLC', 'EQL_REGEX', 'GTE', 'GTR', 'LAND', 'LOR', 'LSS', 'LTE', 'LUNLESS',
  'MOD', 'MUL', 'NEQ', 'NEQ_REGEX', 'POW', 'SUB', 'AT', 'ATAN2',
]);
const AGGREGATORS: ReadonlySet<ItemType> = new Set<ItemType>([
  'AVG', 'BOTTOMK', 'COUNT', 'COUNT_VALUES', 'GROUP', 'MAX', 'MIN', 'QUANTILE', 'STDDEV', 'STDVAR', 'SUM', 'TOPK',
]);
const KEYWORDS: ReadonlySet<ItemType> = new Set<ItemType>([
  'BOOL', 'BY', 'GROUP_LEFT', 'GROUP_RIGHT', 'IGNORING', 'OFFSET', 'ON', 'WITHOUT',
]);

/** Words the lexer turns into keyword tokens (matched lower-cased, as Prometheus). */
const KEY: ReadonlyMap<string, ItemType> = new Map<string, ItemType>([
  ['and', 'LAND'], ['or', 'LOR'], ['unless', 'LUNLESS'], ['atan2', 'ATAN2'],
  ['sum', 'SUM'], ['avg', 'AVG'], ['count', 'COUNT'], ['min', 'MIN'], ['max', 'MAX'], ['group', 'GROUP'],
  ['stddev', 'STDDEV'], ['stdvar', 'STDVAR'], ['topk', 'TOPK'], ['bottomk', 'BOTTOMK'],
  ['count_values', 'COUNT_VALUES'], ['quantile', 'QUANTILE'],
  ['offset', 'OFFSET'], ['by', 'BY'], ['without', 'WITHOUT'], ['on', 'ON'], ['ignoring', 'IGNORING'],
  ['group_left', 'GROUP_LEFT'], ['group_right', 'GROUP_RIGHT'], ['bool', 'BOOL'],
  ['start', 'START'], ['end', 'END'],
  ['inf', 'NUMBER'], ['nan', 'NUMBER'],
]);

/** Token types that have a fixed spelling in Prometheus' `ItemTypeStr` table. */
const HAS_TYPE_STR: ReadonlySet<ItemType> = new Set<ItemType>([
  'LEFT_PAREN', 'RIGHT_PAREN', 'LEFT_BRACE', 'RIGHT_BRACE', 'LEFT_BRACKET', 'RIGHT_BRACKET', 'COMMA', 'EQL', 'COLON',
  'SUB', 'ADD', 'MUL', 'MOD', 'DIV', 'EQLC', 'NEQ', 'LTE', 'LSS', 'GTE', 'GTR', 'EQL_REGEX', 'NEQ_REGEX', 'POW',
  ...[...KEY.values()].filter((t) => t !== 'NUMBER'),
]);

export function isOperator(t: ItemType): boolean {
  return OPERATORS.has(t);
}
export function isAggregator(t: ItemType): boolean {
  return AGGREGATORS.has(t);
}
export function isKeyword(t: ItemType): boolean {
  return KEYWORDS.has(t);
}

/** Go's `strconv.QuoteRune` (`%q` of a rune). */
export function quoteRune(r: number): string {
  const q = goQuote(String.fromCodePoint(r));
  const inner = q.slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return `'${inner}'`;
}

/** Go's `%#U` of a rune: `U+0071 'q'`, or just `U+000A` when not printable. */
function formatRuneU(r: number): string {
  const hex = r.toString(16).toUpperCase().padStart(4, '0');
  const c = String.fromCodePoint(r);
  const printable = r === 0x22 || r === 0x5c || goQuote(c) === `"${c}"`;
  return printable ? `U+${hex} '${c}'` : `U+${hex}`;
}

/** Go's `%.10q` of a string: its first 10 runes, quoted. */
function quoteTruncated(s: string): string {
  return goQuote(Array.from(s).slice(0, 10).join(''));
}

/** Prometheus' `Item.String()`. */
export function itemString(it: Item): string {
  const t = it.typ;
  if (t === 'EOF') return 'EOF';
  if (t === 'ERROR') return it.val;
  if (t === 'IDENTIFIER' || t === 'METRIC_IDENTIFIER') return goQuote(it.val);
  if (isKeyword(t)) return `<${it.val}>`;
  if (isOperator(t)) return `<op:${it.val}>`;
  if (isAggregator(t)) return `<aggr:${it.val}>`;
  if (Buffer.byteLength(it.val) > 10) return `${quoteTruncated(it.val)}...`;
  return goQuote(it.val);
}

const TYPE_DESC: Partial<Record<ItemType, string>> = {
  ERROR: 'error', EOF: 'end of input', COMMENT: 'comment', IDENTIFIER: 'identifier',
  METRIC_IDENTIFIER: 'metric identifier', STRING: 'string', NUMBER: 'number', DURATION: 'duration',
};

/** Prometheus' `Item.desc()`, used in "unexpected ..." messages. */
export function itemDesc(it: Item): string {
  if (HAS_TYPE_STR.has(it.typ)) return itemString(it);
  if (it.typ === 'EOF') return 'end of input';
  // AT has no entry in ItemTypeStr, so Go prints its numeric item type.
  const typeDesc = TYPE_DESC[it.typ] ?? '"<Item 57385>"';
  return `${typeDesc} ${itemString(it)}`;
}

const EOF_RUNE = -1;

function isSpace(r: number): boolean {
  return r === 0x20 || r === 0x09 || r === 0x0a || r === 0x0d;
}
function isDigit(r: number): boolean {
  return r >= 0x30 && r <= 0x39;
}
function isAlpha(r: number): boolean {
  return r === 0x5f || (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a);
}
function isAlphaNumeric(r: number): boolean {
  return isAlpha(r) || isDigit(r);
}

/** Prometheus' `isLabel`: a valid label name. */
export function isLabel(s: string): boolean {
  if (s.length === 0 || !isAlpha(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isAlphaNumeric(s.charCodeAt(i))) return false;
  return true;
}

type StateFn = (l: Lexer) => StateFn | null;

const decoder = new TextDecoder();

/**
 * Produces the tokens of one query on demand ({@link Lexer.nextItem}),
 * comments included. After an ERROR token it yields EOF.
 */
export class Lexer {
  readonly input: string;
  private readonly bytes: Uint8Array;
  private readonly ascii: boolean;
  private state: StateFn | null = lexStatements;
  pos = 0;
  /** Start of the token being scanned; Prometheus reports lexer errors here. */
  start = 0;
  private width = 0;
  private item: Item | undefined;
  parenDepth = 0;
  braceOpen = false;
  bracketOpen = false;
  gotColon = false;
  stringOpen = 0;

  constructor(input: string) {
    this.input = input;
    this.bytes = new TextEncoder().encode(input);
    this.ascii = this.bytes.length === input.length;
  }

  /** Length of the input in bytes. */
  get length(): number {
    return this.bytes.length;
  }

  /** The input between two byte offsets. */
  slice(from: number, to: number): string {
    return this.ascii ? this.input.slice(from, to) : decoder.decode(this.bytes.subarray(from, to));
  }

  /** Scans and returns the next token. */
  nextItem(): Item {
    this.item = undefined;
    if (this.state === null) {
      this.emit('EOF');
    } else {
      while (this.item === undefined && this.state !== null) this.state = this.state(this);
      if (this.item === undefined) this.emit('EOF');
    }
    return this.item!;
  }

  next(): number {
    const b = this.bytes;
    const p = this.pos;
    if (p >= b.length) {
      this.width = 0;
      return EOF_RUNE;
    }
    const c = b[p];
    let r: number;
    let w: number;
    if (c < 0x80) {
      r = c;
      w = 1;
    } else {
      [r, w] = decodeRune(b, p);
    }
    this.width = w;
    this.pos += w;
    return r;
  }

  peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }

  backup(): void {
    this.pos -= this.width;
  }

  emit(typ: ItemType): void {
    this.item = { typ, pos: this.start, val: this.slice(this.start, this.pos) };
    this.start = this.pos;
  }

  ignore(): void {
    this.start = this.pos;
  }

  accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF_RUNE && valid.includes(String.fromCodePoint(r))) return true;
    this.backup();
    return false;
  }

  acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === EOF_RUNE || !valid.includes(String.fromCodePoint(r))) break;
    }
    this.backup();
  }

  /** Records an ERROR token (replacing any token emitted in this step) and stops lexing. */
  errorf(msg: string): null {
    this.item = { typ: 'ERROR', pos: this.start, val: msg };
    return null;
  }

  scanNumber(): boolean {
    let digits = '0123456789';
    if (this.accept('0') && this.accept('xX')) digits = '0123456789abcdefABCDEF';
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789');
    }
    return !isAlphaNumeric(this.peek());
  }
}

/** Decodes one UTF-8 rune as Go does: invalid sequences give U+FFFD with width 1. */
function decodeRune(b: Uint8Array, p: number): [number, number] {
  const c = b[p];
  const need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (need === 0 || c > 0xf4 || p + need > b.length) return [0xfffd, 1];
  let r = need === 2 ? c & 0x1f : need === 3 ? c & 0x0f : c & 0x07;
  for (let i = 1; i < need; i++) {
    const cc = b[p + i];
    if ((cc & 0xc0) !== 0x80) return [0xfffd, 1];
    r = (r << 6) | (cc & 0x3f);
  }
  const min = need === 2 ? 0x80 : need === 3 ? 0x800 : 0x10000;
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return [0xfffd, 1];
  return [r, need];
}

function lexStatements(l: Lexer): StateFn | null {
  if (l.braceOpen) return lexInsideBraces;
  if (l.peek() === 0x23) return lexLineComment;
  const r = l.next();
  switch (true) {
    case r === EOF_RUNE:
      if (l.parenDepth !== 0) return l.errorf('unclosed left parenthesis');
      if (l.bracketOpen) return l.errorf('unclosed left bracket');
      l.emit('EOF');
      return null;
    case r === 0x2c: l.emit('COMMA'); break;
    case isSpace(r): return lexSpace;
    case r === 0x2a: l.emit('MUL'); break;
    case r === 0x2f: l.emit('DIV'); break;
    case r === 0x25: l.emit('MOD'); break;
    case r === 0x2b: l.emit('ADD'); break;
    case r === 0x2d: l.emit('SUB'); break;
    case r === 0x5e: l.emit('POW'); break;
    case r === 0x3d: {
      const t = l.peek();
      if (t === 0x3d) {
        l.next();
        l.emit('EQLC');
      } else if (t === 0x7e) {
        return l.errorf(`unexpected character after '=': ${quoteRune(t)}`);
      } else {
        l.emit('EQL');
      }
      break;
    }
    case r === 0x21: {
      const t = l.next();
      if (t === 0x3d) l.emit('NEQ');
      else return l.errorf(`unexpected character after '!': ${quoteRuneOrEof(t)}`);
      break;
    }
    case r === 0x3c:
      if (l.peek() === 0x3d) {
        l.next();
        l.emit('LTE');
      } else l.emit('LSS');
      break;
    case r === 0x3e:
      if (l.peek() === 0x3d) {
        l.next();
        l.emit('GTE');
      } else l.emit('GTR');
      break;
    case isDigit(r) || (r === 0x2e && isDigit(l.peek())):
      l.backup();
      return lexNumberOrDuration;
    case r === 0x22 || r === 0x27:
      l.stringOpen = r;
      return lexString;
    case r === 0x60:
      l.stringOpen = r;
      return lexRawString;
    case isAlpha(r) || r === 0x3a:
      if (!l.bracketOpen) {
        l.backup();
        return lexKeywordOrIdentifier;
      }
      if (l.gotColon) return l.errorf(`unexpected colon ${quoteRune(r)}`);
      l.emit('COLON');
      l.gotColon = true;
      break;
    case r === 0x28:
      l.emit('LEFT_PAREN');
      l.parenDepth++;
      break;
    case r === 0x29:
      l.emit('RIGHT_PAREN');
      l.parenDepth--;
      if (l.parenDepth < 0) return l.errorf(`unexpected right parenthesis ')'`);
      break;
    case r === 0x7b:
      l.emit('LEFT_BRACE');
      l.braceOpen = true;
      return lexInsideBraces;
    case r === 0x5b:
      if (l.bracketOpen) return l.errorf(`unexpected left bracket '['`);
      l.gotColon = false;
      l.emit('LEFT_BRACKET');
      if (isSpace(l.peek())) skipSpaces(l);
      l.bracketOpen = true;
      return lexDuration;
    case r === 0x5d:
      if (!l.bracketOpen) return l.errorf(`unexpected right bracket ']'`);
      l.emit('RIGHT_BRACKET');
      l.bracketOpen = false;
      break;
    case r === 0x40:
      l.emit('AT');
      break;
    default:
      return l.errorf(`unexpected character: ${quoteRune(r)}`);
  }
  return lexStatements;
}

/** Go formats eof (-1) with %q as the replacement character. */
function quoteRuneOrEof(r: number): string {
  return r === EOF_RUNE ? quoteRune(0xfffd) : quoteRune(r);
}

function lexInsideBraces(l: Lexer): StateFn | null {
  if (l.peek() === 0x23) return lexLineComment;
  const r = l.next();
  switch (true) {
    case r === EOF_RUNE:
      return l.errorf('unexpected end of input inside braces');
    case isSpace(r):
      return lexSpace;
    case isAlpha(r):
      l.backup();
      return lexIdentifier;
    case r === 0x2c:
      l.emit('COMMA');
      break;
    case r === 0x22 || r === 0x27:
      l.stringOpen = r;
      return lexString;
    case r === 0x60:
      l.stringOpen = r;
      return lexRawString;
    case r === 0x3d:
      if (l.next() === 0x7e) {
        l.emit('EQL_REGEX');
        break;
      }
      l.backup();
      l.emit('EQL');
      break;
    case r === 0x21: {
      const nr = l.next();
      if (nr === 0x7e) l.emit('NEQ_REGEX');
      else if (nr === 0x3d) l.emit('NEQ');
      else return l.errorf(`unexpected character after '!' inside braces: ${quoteRuneOrEof(nr)}`);
      break;
    }
    case r === 0x7b:
      return l.errorf(`unexpected left brace '{'`);
    case r === 0x7d:
      l.emit('RIGHT_BRACE');
      l.braceOpen = false;
      return lexStatements;
    default:
      return l.errorf(`unexpected character inside braces: ${quoteRune(r)}`);
  }
  return lexInsideBraces;
}

function digitVal(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x61 + 10;
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x41 + 10;
  return 16;
}

function lexEscape(l: Lexer): StateFn | null {
  let ch = l.next();
  let n: number;
  let base: number;
  let max: number;
  switch (ch) {
    case 0x61: case 0x62: case 0x66: case 0x6e: case 0x72: case 0x74: case 0x76: case 0x5c: case l.stringOpen:
      return lexString;
    case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: case 0x36: case 0x37:
      [n, base, max] = [3, 8, 255];
      break;
    case 0x78:
      ch = l.next();
      [n, base, max] = [2, 16, 255];
      break;
    case 0x75:
      ch = l.next();
      [n, base, max] = [4, 16, 0x10ffff];
      break;
    case 0x55:
      ch = l.next();
      [n, base, max] = [8, 16, 0x10ffff];
      break;
    case EOF_RUNE:
      return l.errorf('escape sequence not terminated');
    default:
      return l.errorf(`unknown escape sequence ${formatRuneU(ch)}`);
  }
  let x = 0;
  while (n > 0) {
    const d = digitVal(ch);
    if (d >= base) {
      if (ch === EOF_RUNE) return l.errorf('escape sequence not terminated');
      return l.errorf(`illegal character ${formatRuneU(ch)} in escape sequence`);
    }
    x = x * base + d;
    n--;
    if (n > 0) ch = l.next();
  }
  if (x > max || (x >= 0xd800 && x < 0xe000)) return l.errorf('escape sequence is an invalid Unicode code point');
  return lexString;
}

function skipSpaces(l: Lexer): void {
  while (isSpace(l.peek())) l.next();
  l.ignore();
}

function lexString(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (r === 0x5c) return lexEscape;
    if (r === 0xfffd) return l.errorf('invalid UTF-8 rune');
    if (r === EOF_RUNE || r === 0x0a) return l.errorf('unterminated quoted string');
    if (r === l.stringOpen) break;
  }
  l.emit('STRING');
  return lexStatements;
}

function lexRawString(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (r === 0xfffd) return l.errorf('invalid UTF-8 rune');
    if (r === EOF_RUNE) return l.errorf('unterminated raw string');
    if (r === l.stringOpen) break;
  }
  l.emit('STRING');
  return lexStatements;
}

function lexSpace(l: Lexer): StateFn | null {
  while (isSpace(l.peek())) l.next();
  l.ignore();
  return lexStatements;
}

function lexLineComment(l: Lexer): StateFn | null {
  l.next(); // '#'
  let r = l.next();
  while (r !== 0x0d && r !== 0x0a && r !== EOF_RUNE) r = l.next();
  l.backup();
  l.emit('COMMENT');
  return lexStatements;
}

function acceptRemainingDuration(l: Lexer): boolean {
  if (!l.accept('smhdwy')) return false;
  l.accept('s');
  while (l.accept('0123456789')) {
    while (l.accept('0123456789')) {
      // digits
    }
    if (!l.accept('smhdw')) return false;
    l.accept('s');
  }
  return !isAlphaNumeric(l.next());
}

function lexDuration(l: Lexer): StateFn | null {
  if (l.scanNumber()) return l.errorf('missing unit character in duration');
  if (!acceptRemainingDuration(l)) return l.errorf(`bad duration syntax: ${goQuote(l.slice(l.start, l.pos))}`);
  l.backup();
  l.emit('DURATION');
  return lexStatements;
}

function lexNumberOrDuration(l: Lexer): StateFn | null {
  if (l.scanNumber()) {
    l.emit('NUMBER');
    return lexStatements;
  }
  if (acceptRemainingDuration(l)) {
    l.backup();
    l.emit('DURATION');
    return lexStatements;
  }
  return l.errorf(`bad number or duration syntax: ${goQuote(l.slice(l.start, l.pos))}`);
}

function lexIdentifier(l: Lexer): StateFn | null {
  while (isAlphaNumeric(l.next())) {
    // consume
  }
  l.backup();
  l.emit('IDENTIFIER');
  return lexStatements;
}

function lexKeywordOrIdentifier(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (isAlphaNumeric(r) || r === 0x3a) continue;
    l.backup();
    const word = l.slice(l.start, l.pos);
    const kw = KEY.get(word.toLowerCase());
    if (kw !== undefined) l.emit(kw);
    else if (!word.includes(':')) l.emit('IDENTIFIER');
    else l.emit('METRIC_IDENTIFIER');
    break;
  }
  return lexStatements;
}
