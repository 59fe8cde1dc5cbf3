/**
 * The part of snappyjs (github.com/zhipeng-jia/snappyjs, no bundled types) the remote-write
 * exporter uses: the raw Snappy block format, which remote write 1.0 requires (not the framed
 * stream format).
 */
declare module 'snappyjs' {
  export function compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(input: T, maxLength?: number): T;
  const snappy: { compress: typeof compress; uncompress: typeof uncompress };
  export default snappy;
}
