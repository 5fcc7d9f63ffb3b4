import { open } from 'node:fs/promises';

// `git archive --format=zip` marks plain files and directories as made on MS-DOS (no Unix mode);
// only executables and symlinks carry one. pack treats MS-DOS entries as mode 0777, so the app
// would lose its file modes. This gives those entries the mode git itself would check out (0644
// for files, 0755 for directories), in the zip's central directory, which is all readers use.

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;
const UNIX = 3;

/** What a zip written by git holds, as far as deciding how to hand it to pack goes. */
export interface ZipFacts {
  /** Root-level names (files and directories, without a trailing slash). */
  rootNames: Set<string>;
}

/**
 * Rewrites the creator and external attributes of MS-DOS entries to Unix modes, in place. Returns
 * undefined for an archive this does not handle (zip64: more than 65,535 entries or over 4 GiB),
 * which the caller then unpacks instead.
 */
export async function giveUnixModes(file: string): Promise<ZipFacts | undefined> {
  const fh = await open(file, 'r+');
  try {
    const { size } = await fh.stat();
    // The end record closes the file, followed only by the archive comment (git puts the commit
    // id there): find the record whose comment length reaches exactly to the end.
    const tailLen = Math.min(size, EOCD_MIN + MAX_COMMENT);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let at0 = -1;
    for (let i = tailLen - EOCD_MIN; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD && i + EOCD_MIN + tail.readUInt16LE(i + 20) === tailLen) { at0 = i; break; }
    }
    if (at0 < 0) return undefined;
    const end = tail.subarray(at0, at0 + EOCD_MIN);
    const endOffset = size - tailLen + at0;
    const entries = end.readUInt16LE(10);
    const cdSize = end.readUInt32LE(12);
    const cdOffset = end.readUInt32LE(16);
    if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) return undefined;
    if (cdOffset + cdSize > endOffset) return undefined;

    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const rootNames = new Set<string>();
    let at = 0;
    for (let i = 0; i < entries; i++) {
      if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL) return undefined;
      const nameLen = cd.readUInt16LE(at + 28);
      const next = at + 46 + nameLen + cd.readUInt16LE(at + 30) + cd.readUInt16LE(at + 32);
      if (next > cd.length) return undefined;
      const name = cd.toString('utf8', at + 46, at + 46 + nameLen);
      const dir = name.endsWith('/');
      const trimmed = dir ? name.slice(0, -1) : name;
      if (!trimmed.includes('/')) rootNames.add(trimmed);
      const madeBy = cd.readUInt16LE(at + 4);
      if (madeBy >> 8 !== UNIX) {
        const mode = dir ? 0o40755 : 0o100644;
        cd.writeUInt16LE((UNIX << 8) | (madeBy & 0xff), at + 4);
        cd.writeUInt32LE(((mode << 16) | (cd.readUInt32LE(at + 38) & 0xffff)) >>> 0, at + 38);
      }
      at = next;
    }
    await fh.write(cd, 0, cdSize, cdOffset);
    return { rootNames };
  } finally {
    await fh.close();
  }
}
