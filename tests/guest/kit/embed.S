/*
 * Embeds a test's guest ELF in its host binary, so a test binary runs from
 * any directory. KIT_GUEST_ELF is the path, set by the Makefile rule.
 */
	.section .rodata
	.balign 16
	.global kit_guest_image, kit_guest_image_end
kit_guest_image:
	.incbin KIT_GUEST_ELF
kit_guest_image_end:
	.section .note.GNU-stack, "", @progbits
