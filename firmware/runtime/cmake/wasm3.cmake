# Wasm3 v0.5.0 for every port's CMake build: fetched at configure time (GIT_TAG v0.5.0), never copied
# into iotfw's repository. Offline builds and the tests point CMake at a local copy instead:
#   -DFETCHCONTENT_SOURCE_DIR_WASM3_SRC=<wasm3 checkout> -DFETCHCONTENT_FULLY_DISCONNECTED=ON
# Defines the static library `wasm3` (its include directory public). A port may add compile
# definitions to it (target_compile_definitions(wasm3 PUBLIC d_m3...)) before building.
include_guard(GLOBAL)
include(FetchContent)
FetchContent_Declare(wasm3_src GIT_REPOSITORY https://github.com/wasm3/wasm3.git GIT_TAG v0.5.0 GIT_SHALLOW TRUE)
FetchContent_GetProperties(wasm3_src)
if(NOT wasm3_src_POPULATED)
  FetchContent_Populate(wasm3_src)
endif()
file(GLOB WASM3_SOURCES "${wasm3_src_SOURCE_DIR}/source/m3_*.c")
# No WASI or libc bindings: a module imports the iotfw HAL only (iotfw build rejects anything else).
list(FILTER WASM3_SOURCES EXCLUDE REGEX "m3_api_(wasi|uvwasi|meta_wasi|tracer|libc)\\.c$")
add_library(wasm3 STATIC ${WASM3_SOURCES})
target_include_directories(wasm3 PUBLIC ${wasm3_src_SOURCE_DIR}/source)
target_compile_options(wasm3 PRIVATE -w)
target_link_libraries(wasm3 PUBLIC m) # sqrt, floor... for the float opcodes
# The device's configuration, the ESP-IDF component's (ports/esp-idf/components/wasm3): 1 KiB code pages,
# at most 128 value-stack slots per function (Wasm3's own choice for ESP32s, m3_config_platforms.h).
# Every build uses it, so a module whose function is too large for the chip fails in the simulator's
# wasm3 engine and under QEMU too, not only on the board.
set(IOTFW_WASM3_DEFINITIONS "d_m3CodePageAlignSize=1024;d_m3MaxFunctionStackHeight=128;d_m3Use32BitSlots=0"
    CACHE STRING "Wasm3 configuration macros (keep equal to ports/esp-idf/components/wasm3)")
target_compile_definitions(wasm3 PUBLIC ${IOTFW_WASM3_DEFINITIONS})
