// Stores into the core's fixed per-channel arrays without a call per store. `unchecked(a[i] = v)`
// compiles to a call to StaticArray#__uset, which the release build (asconfig.json: shrinkLevel 1) does
// not inline; on the per-sample path that call costs more than the arithmetic (measured by
// tools/bench/core.ts: about 5x). Value types only (numbers, bool): a reference needs the runtime's link.

// @ts-ignore: decorator
@inline export function put<T>(a: StaticArray<T>, i: i32, v: T): void {
  store<T>(changetype<usize>(a) + (<usize>i << alignof<T>()), v);
}
