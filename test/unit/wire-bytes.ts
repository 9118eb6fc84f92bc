/**
 * Bytes of Kafka's wire format, written by hand for the request and answer tests
 * (api-versions.test.ts, group-requests.test.ts): fixed-width integers, strings of fixed
 * versions (int16 length) and of flexible ones (varint length + 1).
 */
export const bytes = (...parts: Array<number[] | Buffer>) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
export const i16 = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
export const i32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
export const i64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return b; };
/** int16 length + bytes (fixed versions) */
export const str = (s: string) => bytes(i16(s.length), Buffer.from(s));
/** length + 1 as a one-byte varint + bytes (flexible versions) */
export const cstr = (s: string) => bytes([s.length + 1], Buffer.from(s));
