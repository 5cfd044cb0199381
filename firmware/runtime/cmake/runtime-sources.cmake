# The runtime's own C sources, for every port's build (CMake ports and the ESP-IDF app alike): every file
# of the portable core, so a core file added later reaches every device build, and the Wasm3 engine.
# Sets IOTFW_RUNTIME_DIR (firmware/runtime, the include root), IOTFW_CORE_SOURCES, IOTFW_ENGINE_SOURCES.
include_guard(GLOBAL)
get_filename_component(IOTFW_RUNTIME_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(CMAKE_SCRIPT_MODE_FILE) # `cmake -P` (tests/ports.test.ts lists what a build would compile)
  file(GLOB IOTFW_CORE_SOURCES "${IOTFW_RUNTIME_DIR}/core/*.c")
else() # a build: a core file added later re-runs the configure step
  file(GLOB IOTFW_CORE_SOURCES CONFIGURE_DEPENDS "${IOTFW_RUNTIME_DIR}/core/*.c")
endif()
set(IOTFW_ENGINE_SOURCES "${IOTFW_RUNTIME_DIR}/engine/wasm3_engine.c")
