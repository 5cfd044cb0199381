// Fixture: imports env.foo, which no board's HAL contract has (iotfw build must name it).
// @ts-ignore: decorator
@external("env", "foo")
declare function foo(): i32;

export function use_foo(): i32 { return foo(); }

export * from "iotfw/core/entry";
