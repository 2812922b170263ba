// The browser stand-in for node:crypto in the policy front end: SHA-256 only, which is all
// src/policy/ir.ts asks of it (the meaning hash).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export function createHash(algorithm: string) {
  if (algorithm !== 'sha256') throw new Error(`unsupported hash ${algorithm}`);
  const parts: Uint8Array[] = [];
  const hash = {
    update(data: string | Uint8Array) {
      parts.push(typeof data === 'string' ? utf8ToBytes(data) : data);
      return hash;
    },
    digest(_encoding: 'hex') {
      const length = parts.reduce((n, p) => n + p.length, 0);
      const all = new Uint8Array(length);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return bytesToHex(sha256(all));
    },
  };
  return hash;
}
