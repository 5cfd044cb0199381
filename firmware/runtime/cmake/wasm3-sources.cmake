# Where Wasm3 v0.5.0's sources are and how every iotfw build configures them; shared by cmake/wasm3.cmake
# (the CMake ports) and the ESP-IDF component (ports/esp-idf/components/wasm3), so one configuration
# reaches every target. Fetched at configure time (GIT_TAG v0.5.0), never copied into iotfw's repository;
# offline builds and the tests point CMake at a local copy instead:
#   -DFETCHCONTENT_SOURCE_DIR_WASM3_SRC=<wasm3 checkout> -DFETCHCONTENT_FULLY_DISCONNECTED=ON
# Sets WASM3_SOURCES, WASM3_INCLUDE_DIR and IOTFW_WASM3_DEFINITIONS.
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
set(WASM3_INCLUDE_DIR "${wasm3_src_SOURCE_DIR}/source")
# The device's configuration: 1 KiB code pages, at most 128 value-stack slots per function (Wasm3's own
# choice for ESP32s, m3_config_platforms.h). Every build uses it, so a module whose function is too large
# for the chip fails in the simulator's wasm3 engine and under QEMU too, not only on the board.
set(IOTFW_WASM3_DEFINITIONS "d_m3CodePageAlignSize=1024;d_m3MaxFunctionStackHeight=128;d_m3Use32BitSlots=0"
    CACHE STRING "Wasm3 configuration macros of every iotfw build")
