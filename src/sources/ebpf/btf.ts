/**
 * Just enough of the kernel's BTF (/sys/kernel/btf/vmlinux, include/uapi/linux/btf.h) to find
 * where per-CPU variables sit in the per-CPU section: the DATASEC ".data..percpu" lists each
 * VAR with its offset. bpftrace 0.17 reads struct fields through BTF but has no way to name a
 * per-CPU variable, and without CONFIG_KALLSYMS_ALL /proc/kallsyms lists none.
 *
 * Layout: a header (magic 0xeb9f, hdr_len, type_off/len, str_off/len), then types, each a
 * 12-byte btf_type (name_off, info: kind in bits 24-28 and vlen in bits 0-15, size/type)
 * followed by a tail whose length depends on the kind.
 */
import { readFileSync } from 'node:fs';

const BTF_MAGIC = 0xeb9f;
const KIND_VAR = 14;
const KIND_DATASEC = 15;

/** Bytes that follow the 12-byte header of a type of this kind (btf.h, BTF_KIND_*). */
function tailBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return vlen * 12;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return vlen * 8;
    default: // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
      return 0;
  }
}

/**
 * Offsets within the per-CPU section of the named variables (those BTF lists; pahole encodes
 * every per-CPU variable). An empty map when the file is missing or not BTF.
 */
export function percpuVariableOffsets(names: readonly string[], path = '/sys/kernel/btf/vmlinux'): Map<string, number> {
  const found = new Map<string, number>();
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch {
    return found;
  }
  if (b.length < 24 || b.readUInt16LE(0) !== BTF_MAGIC) return found;
  const hdrLen = b.readUInt32LE(4);
  const typesStart = hdrLen + b.readUInt32LE(8);
  const typesEnd = typesStart + b.readUInt32LE(12);
  const stringsStart = hdrLen + b.readUInt32LE(16);
  if (typesEnd > b.length || stringsStart > b.length) return found;
  const wanted = new Set(names);
  const nameAt = (off: number): string => {
    const start = stringsStart + off;
    const end = b.indexOf(0, start);
    return b.toString('latin1', start, end < 0 ? b.length : end);
  };
  // Type ids start at 1; a DATASEC refers to its VARs by id.
  const wantedVars = new Map<number, string>();
  let percpuSection = -1;
  let percpuVlen = 0;
  let id = 1;
  for (let p = typesStart; p + 12 <= typesEnd; id++) {
    const info = b.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === KIND_VAR) {
      const name = nameAt(b.readUInt32LE(p));
      if (wanted.has(name)) wantedVars.set(id, name);
    } else if (kind === KIND_DATASEC && nameAt(b.readUInt32LE(p)) === '.data..percpu') {
      percpuSection = p + 12;
      percpuVlen = vlen;
    }
    p += 12 + tailBytes(kind, vlen);
  }
  // btf_var_secinfo: type id, offset, size.
  for (let i = 0; percpuSection >= 0 && i < percpuVlen; i++) {
    const at = percpuSection + i * 12;
    const name = wantedVars.get(b.readUInt32LE(at));
    if (name !== undefined) found.set(name, b.readUInt32LE(at + 4));
  }
  return found;
}
