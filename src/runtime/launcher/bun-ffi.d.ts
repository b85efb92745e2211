// The part of Bun's `bun:ffi` the launcher uses; declared here so the package needs no Bun type
// definitions (they clash with Node's, which the rest of toolcage is written against).
declare module 'bun:ffi' {
  type FFIType = 'i32' | 'u32' | 'ptr';
  interface Symbols {
    socket(domain: number, type: number, protocol: number): number;
    connect(fd: number, address: number, length: number): number;
    __errno_location(): number | null;
  }
  export function dlopen(
    path: string,
    symbols: Record<string, { args: FFIType[]; returns: FFIType }>,
  ): { symbols: Symbols };
  export function ptr(view: ArrayBufferView): number;
  export const read: { i32(pointer: number, offset: number): number };
}
