/**
 * Public surface of the labels domain: canonical label sets and their bytes
 * and ids, validation of received labels, and label matchers.
 */
export {
  type Label,
  type Labels,
  MetricName,
  compareLabels,
  labelsEqual,
  labelsGet,
  labelsToString,
  labelsFromPairs,
  utf8ByteLength,
  encodeLabels,
  decodeLabels,
  SeriesIdBytes,
  seriesIdBytes,
  seriesId,
  seriesIdFromHex,
  seriesIdToHex,
} from './labels.ts';
export { type LabelLimits, DefaultLabelLimits, canonicalize, isValidLabelName } from './validate.ts';
export { MatchType, Matcher, newMatcher, matchesEmpty, setMatches } from './matcher.ts';
export { LabelError, LabelErrorKind, RegexError } from './errors.ts';
export { goQuote } from './quote.ts';
