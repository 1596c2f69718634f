/**
 * Raw kernel flow keys -> tracker slots, without a string per key: the key bytes are
 * kept in one array (a key's 32-bit words at slot * keyWords) and found through an
 * open-addressing table of 32-bit hashes (linear probing, backward-shift deletion,
 * so no tombstones pile up under flow churn). Reading 100,000 keys a collection
 * then allocates nothing and touches two flat arrays instead of a Map of strings.
 */
const EMPTY = 0; // table cells hold slot + 1

export class FlowIndex {
  /** Key words of every slot. */
  private store: Int32Array;
  /** Each slot's hash, to move entries on delete and grow without rehashing bytes. */
  private hashes: Int32Array;
  private table = new Int32Array(1024);
  private mask = 1023;
  private count = 0;
  /** 32-bit words in a key. */
  readonly keyWords: number;

  constructor(readonly keySize: number, slots = 1024) {
    if (keySize % 4 !== 0) throw new Error(`flow index: key size ${keySize} is not a multiple of 4`);
    this.keyWords = keySize / 4;
    this.store = new Int32Array(slots * this.keyWords);
    this.hashes = new Int32Array(slots);
  }

  get size(): number {
    return this.count;
  }

  /** Makes room for slots below `slots`. */
  reserve(slots: number): void {
    if (slots <= this.hashes.length) return;
    const store = new Int32Array(slots * this.keyWords);
    store.set(this.store);
    this.store = store;
    const hashes = new Int32Array(slots);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  /** The slot holding the key at `keys[at..]` (in words), or -1. */
  find(keys: Int32Array, at: number): number {
    const h = this.hash(keys, at);
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const cell = this.table[i]!;
      if (cell === EMPTY) return -1;
      if (this.hashes[cell - 1] === h && this.equals(cell - 1, keys, at)) return cell - 1;
    }
  }

  /** Adds a key not in the index under `slot` (reserved). */
  insert(keys: Int32Array, at: number, slot: number): void {
    if ((this.count + 1) * 2 > this.table.length) this.growTable();
    const h = this.hash(keys, at);
    this.store.set(keys.subarray(at, at + this.keyWords), slot * this.keyWords);
    this.hashes[slot] = h;
    this.place(slot, h);
    this.count++;
  }

  /** Forgets the key of `slot`. */
  remove(slot: number): void {
    const mask = this.mask;
    let i = this.hashes[slot]! & mask;
    while (this.table[i] !== slot + 1) {
      if (this.table[i] === EMPTY) return; // not indexed
      i = (i + 1) & mask;
    }
    this.table[i] = EMPTY;
    this.count--;
    // Backward shift: an entry further along the run moves into the hole unless its home lies between.
    for (let j = (i + 1) & mask; this.table[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.hashes[this.table[j]! - 1]! & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      this.table[i] = this.table[j]!;
      this.table[j] = EMPTY;
      i = j;
    }
  }

  /** The key bytes of `slot` (a view: valid until the index grows). */
  key(slot: number): Buffer {
    return Buffer.from(this.store.buffer, slot * this.keySize, this.keySize);
  }

  /** Whether `slot` holds the key at `keys[at..]`. */
  equals(slot: number, keys: Int32Array, at: number): boolean {
    const store = this.store;
    const base = slot * this.keyWords;
    for (let w = 0; w < this.keyWords; w++) if (store[base + w] !== keys[at + w]) return false;
    return true;
  }

  private hash(keys: Int32Array, at: number): number {
    let h = 0x811c9dc5;
    for (let w = 0; w < this.keyWords; w++) h = Math.imul(h ^ keys[at + w]!, 0x01000193) ^ (h >>> 15);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h;
  }

  private place(slot: number, h: number): void {
    let i = h & this.mask;
    while (this.table[i] !== EMPTY) i = (i + 1) & this.mask;
    this.table[i] = slot + 1;
  }

  private growTable(): void {
    const old = this.table;
    this.table = new Int32Array(old.length * 2);
    this.mask = this.table.length - 1;
    for (const cell of old) if (cell !== EMPTY) this.place(cell - 1, this.hashes[cell - 1]!);
  }
}

/** The 32-bit words of a buffer (host order): a view when it is aligned, else a copy. */
export function wordsOf(buf: Buffer): Int32Array {
  if (buf.byteOffset % 4 === 0) return new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
  const copy = new Int32Array(buf.length >> 2);
  new Uint8Array(copy.buffer).set(buf.subarray(0, copy.length * 4));
  return copy;
}
