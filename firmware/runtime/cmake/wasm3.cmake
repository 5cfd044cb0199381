# Wasm3 v0.5.0 as the static library `wasm3` for every CMake port (sim, linux, rv32-qemu), its include
# directory and configuration public: the sources and configuration are cmake/wasm3-sources.cmake's.
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/wasm3-sources.cmake)
add_library(wasm3 STATIC ${WASM3_SOURCES})
target_include_directories(wasm3 PUBLIC ${WASM3_INCLUDE_DIR})
target_compile_options(wasm3 PRIVATE -w)
target_compile_definitions(wasm3 PUBLIC ${IOTFW_WASM3_DEFINITIONS})
target_link_libraries(wasm3 PUBLIC m) # sqrt, floor... for the float opcodes
