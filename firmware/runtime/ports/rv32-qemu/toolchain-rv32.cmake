# CMake toolchain for the rv32 target: bare-metal RV32IMC (the ESP32-C3's ISA), ilp32, picolibc, run
# under qemu-system-riscv32. Debian: gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
# qemu-system-misc. The riscv64 GCC is multilib: -march=rv32imc -mabi=ilp32 selects picolibc's
# rv32im/ilp32 libraries (there is no rv32imc multilib; rv32im is the same ISA without compressed
# instructions, so only libc's own code is uncompressed and nothing needs the A extension).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(IOTFW_RV32_PREFIX riscv64-unknown-elf- CACHE STRING "prefix of the RISC-V bare-metal binutils and GCC")
set(CMAKE_C_COMPILER ${IOTFW_RV32_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${IOTFW_RV32_PREFIX}gcc)
set(CMAKE_AR ${IOTFW_RV32_PREFIX}ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${IOTFW_RV32_PREFIX}ranlib CACHE FILEPATH "")
set(CMAKE_SIZE ${IOTFW_RV32_PREFIX}size CACHE FILEPATH "")
# Try-compiles cannot link a bare-metal program without our linker script.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# --specs=picolibc.specs sets picolibc's include path and libraries; CMake passes the C flags on the
# link line too (the specs file must appear only once there).
set(CMAKE_C_FLAGS_INIT "-march=rv32imc -mabi=ilp32 --specs=picolibc.specs -ffunction-sections -fdata-sections")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
