/**
 * A ConnFilter's expression compiled into inet_diag bytecode (INET_DIAG_REQ_BYTECODE,
 * include/uapi/linux/inet_diag.h), which the kernel runs on every socket of a dump before it
 * formats a message (inet_diag_bc_run(), net/ipv4/inet_diag.c): a dump that keeps 100 of
 * 60,000 sockets costs what 100 messages cost, plus the walk.
 *
 * The program is a list of ops `{ u8 code; u8 yes; u16 no }`, each followed by its operand;
 * `yes`/`no` are forward byte offsets taken when the condition holds or not. Running off the
 * end exactly accepts the socket; any other exit (by convention: 4 bytes past the end)
 * rejects it. The kernel's audit (inet_diag_bc_audit()) wants every `yes` to be the op's own
 * length and every `no` to land on an op boundary or at end + 4.
 *
 * Each sub-expression compiles to a block with the same convention, which composes (the
 * scheme ss uses, ss.c ssfilter_bytecompile): falling off the block's end means true, a jump
 * to 4 past its end means false.
 *   a and b: a's "false" jumps are moved past b.
 *   a or b:  a, JMP over b, b: a's "false" lands on b, a's "true" on the JMP to the end.
 *   not a:   a, JMP 8: a's "true" hits the JMP and leaves 4 past the end; a's "false" lands on
 *            the end.
 */
import type { ConnExpr, HostCond, PortCond } from '../../model/conn-filter.js';
import { UsageError } from '../../errors.js';

// enum in include/uapi/linux/inet_diag.h
const BC_JMP = 1;
const BC_S_GE = 2;
const BC_S_LE = 3;
const BC_D_GE = 4;
const BC_D_LE = 5;
const BC_S_COND = 7;
const BC_D_COND = 8;

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;

interface Op {
  readonly code: number;
  /** Op length including its operand: the `yes` offset. */
  readonly len: number;
  /** Offset from this op taken when the condition is false. */
  no: number;
  readonly operand: Uint8Array;
}

type Block = Op[];

const blockLength = (b: Block): number => b.reduce((n, op) => n + op.len, 0);

/** A leaf: one op whose "false" is 4 past its own end. */
function leaf(code: number, operand: Uint8Array): Block {
  const len = 4 + operand.length;
  return [{ code, len, no: len + 4, operand }];
}

function jmp(no: number): Op {
  return { code: BC_JMP, len: 4, no, operand: new Uint8Array(0) };
}

function and(a: Block, b: Block): Block {
  const la = blockLength(a);
  const lb = blockLength(b);
  let at = 0;
  for (const op of a) {
    if (op.no === la + 4 - at) op.no += lb;
    at += op.len;
  }
  return [...a, ...b];
}

function or(a: Block, b: Block): Block {
  return [...a, jmp(blockLength(b) + 4), ...b];
}

function not(a: Block): Block {
  return [...a, jmp(8)];
}

/** struct inet_diag_hostcond { u8 family; u8 prefix_len; int port; __be32 addr[]; } */
function hostCond(h: HostCond): Block {
  const family = h.cidr === null ? AF_UNSPEC : h.cidr.family === 4 ? AF_INET : AF_INET6;
  // ss gives an address-less condition 4 zero address bytes too; the kernel wants none.
  const addr = h.cidr === null ? new Uint8Array(4) : h.cidr.bytes;
  const operand = new Uint8Array(8 + addr.length);
  const view = new DataView(operand.buffer);
  operand[0] = family;
  operand[1] = h.cidr === null ? 0 : h.cidr.prefix;
  // `int port` in host order (the kernel compares it with entry->sport, also host order); -1: any.
  view.setInt32(4, h.port ?? -1, true);
  operand.set(addr, 8);
  return leaf(h.side === 'src' ? BC_S_COND : BC_D_COND, operand);
}

/** S_GE/S_LE/D_GE/D_LE take the port in the `no` field of a second op. */
function portCompare(code: number, port: number): Block {
  const operand = new Uint8Array(4);
  new DataView(operand.buffer).setUint16(2, port, true);
  return leaf(code, operand);
}

function portCond(p: PortCond): Block {
  const src = p.side === 'src';
  const ge = (): Block => portCompare(src ? BC_S_GE : BC_D_GE, p.port);
  const le = (): Block => portCompare(src ? BC_S_LE : BC_D_LE, p.port);
  const eq = (): Block => hostCond({ kind: 'host', side: p.side, cidr: null, port: p.port });
  switch (p.op) {
    case 'eq': return eq();
    case 'ne': return not(eq());
    case 'ge': return ge();
    case 'le': return le();
    case 'lt': return not(ge());
    case 'gt': return not(le());
  }
}

function compile(expr: ConnExpr): Block {
  switch (expr.kind) {
    case 'host':
      return expr.cidr === null && expr.port === null ? [] : hostCond(expr);
    case 'port':
      return portCond(expr);
    case 'and':
      return expr.items.map(compile).reduce(and, []);
    case 'or':
      // No items: false, which is `not true`.
      if (expr.items.length === 0) return not([]);
      return expr.items.map(compile).reduce((a, b) => or(a, b));
    case 'not':
      return not(compile(expr.item));
  }
}

/** The `no` field is 16 bits: a longer program cannot jump to its own end. */
const MAX_PROGRAM = 0xffff - 8;

/** The program for `expr`, or null when it keeps every socket (no bytecode to send). */
export function compileBytecode(expr: ConnExpr): Buffer | null {
  const block = compile(expr);
  const total = blockLength(block);
  if (total === 0) return null;
  if (total > MAX_PROGRAM) {
    throw new UsageError(`the filter compiles to ${total} bytes of socket-filter bytecode, more than the kernel's ${MAX_PROGRAM}`, 'split it into smaller filters');
  }
  const out = Buffer.alloc(total);
  let at = 0;
  for (const op of block) {
    out[at] = op.code;
    out[at + 1] = op.len;
    out.writeUInt16LE(op.no, at + 2);
    out.set(op.operand, at + 4);
    at += op.len;
  }
  return out;
}
