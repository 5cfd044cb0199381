;; A minimal module speaking the HAL contract, for testing the fleet's mechanics apart from the core:
;; every init/tick/control sends a 16-byte record (device id, seq, time, reset_info). Device 3 loops
;; forever at t >= 5000 ms on its first life; device 4 traps (unreachable) at t >= 3000 ms on its first life.
(module
  (import "iotfw" "frame_out" (func $frame_out (param i32 i32) (result i32)))
  (import "iotfw" "device_id" (func $device_id (result i32)))
  (import "iotfw" "time_ms" (func $time_ms (result i32)))
  (import "iotfw" "reset_info" (func $reset_info (result i32)))
  (memory (export "memory") 1 1)
  (global $seq (mut i32) (i32.const 0))
  (func $emit
    (i32.store (i32.const 0) (call $device_id))
    (i32.store (i32.const 4) (global.get $seq))
    (i32.store (i32.const 8) (call $time_ms))
    (i32.store (i32.const 12) (call $reset_info))
    (drop (call $frame_out (i32.const 0) (i32.const 16)))
    (global.set $seq (i32.add (global.get $seq) (i32.const 1))))
  (func (export "abi_version") (result i32) (i32.const 2))
  (func (export "init") (result i32) (call $emit) (i32.const 0))
  (func (export "tick") (param $now i32) (result i32)
    (call $emit)
    (if (i32.and (i32.eq (call $device_id) (i32.const 3))
                 (i32.and (i32.ge_u (local.get $now) (i32.const 5000)) (i32.eqz (call $reset_info))))
      (then (loop $forever (br $forever))))
    (if (i32.and (i32.eq (call $device_id) (i32.const 4))
                 (i32.and (i32.ge_u (local.get $now) (i32.const 3000)) (i32.eqz (call $reset_info))))
      (then unreachable))
    ;; 1000 ms plus a per-device offset, so devices interleave
    (i32.add (i32.const 1000) (i32.mul (call $device_id) (i32.const 7))))
  (func (export "control_buffer") (result i32) (i32.const 1024))
  (func (export "control") (param $len i32) (result i32) (call $emit) (local.get $len)))
