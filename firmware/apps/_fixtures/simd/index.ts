// Fixture: uses v128 (compiled with --enable simd via app.json); Wasm3 has no SIMD.
export function simd_double_lane(p: usize): i32 {
  const v = v128.load(p);
  return i32x4.extract_lane(i32x4.add(v, v), 1);
}

export * from "iotfw/core/entry";
