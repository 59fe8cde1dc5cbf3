/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4): the signed 32-bit distance a - b that
 * Zeek's seq_delta() and Wireshark's GT_SEQ/LT_SEQ/LE_SEQ macros (packet-tcp.h) both reduce to.
 * The order of the operands decides the one ambiguous case, two numbers exactly 2^31 apart.
 */
export function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}
