/* Multiboot v1 entry: QEMU's -kernel loads this ELF, puts the CPU in 32-bit protected mode with
   flat segments and paging off, and passes the multiboot info (with -append's command line) in
   %ebx. We set a stack and call guest_main(info). */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003          /* page-align modules, ask for the memory map */
    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .bss
    .align 16
stack_bottom:
    .skip 65536
stack_top:

    .section .text
    .global _start
_start:
    cli
    mov $stack_top, %esp
    push %ebx
    call guest_main
halt:
    cli
    hlt
    jmp halt
    .section .note.GNU-stack, "", @progbits
