#!/bin/sh
# Builds guest.elf (a multiboot v1 ELF that QEMU's -kernel boots) into $1 (default: this folder).
# -ffixed-edi: EDI holds the sequential writer's pointer (guest.c), so no other code may use it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/guest.elf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-gcc}
flags="-m32 -ffixed-edi -ffreestanding -fno-pic -fno-stack-protector -nostdlib -O2 -Wall -Wextra"
$cc $flags -c "$here/boot.S" -o "$tmp/boot.o"
$cc $flags -c "$here/guest.c" -o "$tmp/guest.o"
$cc $flags -no-pie -Wl,--build-id=none,--no-warn-rwx-segments -T "$here/link.ld" -o "$out" "$tmp/boot.o" "$tmp/guest.o"
