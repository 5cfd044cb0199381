// Fixture: uses memory.copy (compiled with --enable bulk-memory via app.json); the pinned Wasm3 only
// partly implements bulk memory, so boards do not allow it.
export function copy_bytes(dst: usize, src: usize, n: usize): void {
  memory.copy(dst, src, n);
}

export * from "iotfw/core/entry";
