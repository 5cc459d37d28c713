/**
 * Errors of the labels domain. All are bad input (HTTP 400): Prometheus drops
 * a remote-write batch answered with 4xx instead of retrying it forever.
 */
import { BadInputError } from '../util/errors.ts';

/** Why a label set was refused; stable strings, usable as a metric label. */
export const LabelErrorKind = {
  NoLabels: 'no_labels',
  InvalidName: 'invalid_name',
  DuplicateName: 'duplicate_name',
  TooManyLabels: 'too_many_labels',
  NameTooLong: 'name_too_long',
  ValueTooLong: 'value_too_long',
} as const;
/** One of the {@link LabelErrorKind} values. */
export type LabelErrorKind = (typeof LabelErrorKind)[keyof typeof LabelErrorKind];

/**
 * A label set sent by a client is not acceptable. The one-line message names
 * the offending label and the series (shortened when long).
 */
export class LabelError extends BadInputError {
  /** What is wrong, for counting rejections by reason. */
  readonly kind: LabelErrorKind;

  constructor(kind: LabelErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/**
 * A regular expression in a label matcher does not compile. The message has
 * the form Prometheus users know: `invalid regular expression "a(": error
 * parsing regexp: missing closing ): ...`; `cause` is the engine's exception.
 */
export class RegexError extends BadInputError {
  /** The pattern as the client sent it, before anchoring. */
  readonly pattern: string;

  constructor(pattern: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.pattern = pattern;
  }
}
