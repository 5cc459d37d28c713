/**
 * ULIDs (48-bit millisecond time + 80 random bits, Crockford base32, 26
 * characters) that sort by creation time. Ids made by one process are
 * strictly increasing even within one millisecond, which makes "the last
 * written segment wins" deterministic.
 */
import { randomBytes } from 'node:crypto';

const Alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export class UlidFactory {
  private lastTime = -1;
  private readonly rand = new Uint8Array(16); // 16 base32 digits of 5 bits

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    let t = Math.max(this.now(), this.lastTime);
    if (t === this.lastTime) {
      if (!increment(this.rand)) t = ++this.lastTime; // random part overflowed: borrow the next ms
    } else {
      const r = randomBytes(16);
      for (let i = 0; i < 16; i++) this.rand[i] = r[i]! & 31;
      // Keep headroom so increments within one ms never overflow in practice.
      this.rand[0]! &= 15;
    }
    this.lastTime = t;
    let s = '';
    for (let i = 9; i >= 0; i--) {
      s = Alphabet[t % 32]! + s;
      t = Math.floor(t / 32);
    }
    for (let i = 0; i < 16; i++) s += Alphabet[this.rand[i]!]!;
    return s;
  }
}

function increment(d: Uint8Array): boolean {
  for (let i = d.length - 1; i >= 0; i--) {
    if (d[i]! < 31) {
      d[i]!++;
      return true;
    }
    d[i] = 0;
  }
  return false;
}

/** The millisecond time of a ULID. @throws Error if `id` is not a ULID. */
export function ulidTime(id: string): number {
  if (id.length !== 26) throw new Error(`not a ULID: ${JSON.stringify(id)}`);
  let t = 0;
  for (let i = 0; i < 10; i++) {
    const d = Alphabet.indexOf(id[i]!);
    if (d < 0) throw new Error(`not a ULID: ${JSON.stringify(id)}`);
    t = t * 32 + d;
  }
  return t;
}
