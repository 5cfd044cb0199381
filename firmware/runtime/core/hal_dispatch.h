/* Engine-independent HAL call dispatch: one thunk per import of the contract that takes the raw
 * argument slots an interpreter passes (Wasm3's raw-function convention: one 64-bit slot per value,
 * result slot first, then the arguments; a pointer is a u32 offset into linear memory), bounds-checks
 * every pointer against the memory size, and calls the port's iotfw_hal_<name>. The Wasm3 glue
 * (engine/wasm3_engine.c) links each IOTFW_HAL_IMPORTS entry to its thunk by name and checks the
 * signatures agree; the host tests call the thunks directly. Touches only the module memory it is given. */
#ifndef IOTFW_HAL_DISPATCH_H
#define IOTFW_HAL_DISPATCH_H

#include <stdint.h>

/* Returns NULL, or a trap message (the interpreter unwinds the module with it). */
typedef const char *(*iotfw_hal_thunk_t)(uint64_t *sp, uint8_t *mem, uint32_t mem_size);

typedef struct {
  const char *name;
  const char *signature; /* Wasm3 form, as in hal_link.generated.h */
  iotfw_hal_thunk_t thunk;
} iotfw_hal_entry_t;

extern const iotfw_hal_entry_t IOTFW_HAL_DISPATCH[];
extern const uint32_t IOTFW_HAL_DISPATCH_COUNT;

extern const char IOTFW_TRAP_OUT_OF_BOUNDS[];
extern const char IOTFW_TRAP_PANIC[];
/* An engine's word for "the call ran past its budget" (engine/wasm3_engine.c: the simulator's fuel ran
 * out); the runtime restarts the module with RESET_WATCHDOG, as for a call that returned too late. */
extern const char IOTFW_TRAP_WATCHDOG[];

/* The entry for an import name, or NULL. */
const iotfw_hal_entry_t *iotfw_hal_dispatch_find(const char *name);

/* The host address of [offset, offset + len) in a memory of mem_size bytes, or NULL when any byte of it
 * is outside (64-bit arithmetic: offset + len cannot wrap). */
uint8_t *iotfw_mem_range(uint8_t *mem, uint32_t mem_size, uint32_t offset, uint64_t len);

/* An AssemblyScript string at ptr (UTF-16LE code units, byte length as u32 at ptr - 4), checked against
 * memory: returns its byte length, or -1 when the length prefix or the text leaves memory. ptr 0 is
 * AssemblyScript's null (abort without a message or a file name): 0. */
int32_t iotfw_as_string_bytes(const uint8_t *mem, uint32_t mem_size, uint32_t ptr);
/* Convert such a string (the port's panic has only the pointer: length at text - 4) to UTF-8 in out
 * (max bytes incl. the NUL; cut at a character boundary); unpaired surrogates become U+FFFD. Returns the
 * UTF-8 length. text NULL (a null string) gives "" and returns 0. */
uint32_t iotfw_as_string_to_utf8(const uint8_t *text, uint8_t *out, uint32_t max);

#endif /* IOTFW_HAL_DISPATCH_H */
