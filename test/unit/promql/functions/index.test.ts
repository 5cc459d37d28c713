import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { Functions } from '../../../../lib/promql/parser/functions.ts';

describe('function registry', () => {
  it('implements exactly the functions the parser knows', () => {
    const known = [...Functions.keys()].sort();
    assert.deepEqual(Object.keys(functions).sort(), known);
    assert.ok(known.length >= 69);
  });

  it('is frozen', () => {
    assert.ok(Object.isFrozen(functions));
  });
});
