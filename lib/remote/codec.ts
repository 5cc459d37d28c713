/**
 * Conversions between prompb messages and storage types, after Prometheus'
 * storage/remote/codec.go.
 */
import { MatchType, newMatcher, type Matcher } from '../labels/matcher.ts';
import { MatcherType, type LabelMatcher } from '../prompb/types.ts';
import { BadInputError } from '../util/errors.ts';

const types: Record<number, (typeof MatchType)[keyof typeof MatchType]> = {
  [MatcherType.EQ]: MatchType.Equal,
  [MatcherType.NEQ]: MatchType.NotEqual,
  [MatcherType.RE]: MatchType.Regexp,
  [MatcherType.NRE]: MatchType.NotRegexp,
};

/** Label matchers of query `qi`; invalid types or regexes are 400s. */
export function toMatchers(pb: readonly LabelMatcher[], qi: number): Matcher[] {
  return pb.map((m, i) => {
    const t = types[m.type];
    if (t === undefined) throw new BadInputError(`query ${qi} matcher ${i}: unknown matcher type ${m.type}`);
    return newMatcher(t, m.name, m.value);
  });
}
