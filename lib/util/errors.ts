/**
 * Base class of every error Stratus raises on purpose. Domains extend it in
 * their own `errors.ts`; the HTTP layer maps the classes to status codes in
 * one place (`lib/remote/errors.ts`), so business logic never picks one.
 */
export class StratusError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The input a client sent is wrong; the message says what (maps to 400). */
export class BadInputError extends StratusError {}

/** The input is larger than a configured limit (maps to 413). */
export class TooLargeError extends StratusError {}

/** A storage backend failed; retrying later may succeed (maps to 5xx). */
export class BackendError extends StratusError {}

/** A storage backend asked us to slow down (maps to 429). */
export class ThrottledError extends BackendError {}

/** Stored data did not pass its own integrity checks (CRC, layout). */
export class CorruptionError extends StratusError {}
