// CRC-32 (IEEE 802.3, the polynomial zip and gzip use), fed chunk by chunk so a zip entry is checked as
// it inflates. fflate writes CRCs but its unzip never checks them: one flipped byte in an adapter zip
// turned a weight of -0.0545 into -1.85e37 and imported. Slicing-by-1 table: ~0.5 GB/s in V8.

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The CRC-32 of `crc`'s data followed by `bytes` (start with 0); an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
