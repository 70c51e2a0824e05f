# cmake/toolchain-aarch64-linux-gnu.cmake — cross-build for arm64 with
# Debian's cross toolchain (crossbuild-essential-arm64) against Debian's
# arm64 multiarch libraries (libsqlite3-dev:arm64 …), and run what is built
# under qemu-user (scripts/test-arm64.sh). Multiarch: the libraries live in
# /usr/lib/aarch64-linux-gnu beside the host's, so no sysroot is set.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
# pkg-config must see only the arm64 .pc files (and arch-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
