# The Cortex-M33 build of the device core and its test firmware for QEMU's mps2-an505.
# Driven by the top-level Makefile (make cross, make test-cross), which installs the toolchain
# first (scripts/deps-cross.sh). Plain make, no CMake: the cross build is a handful of objects.
#
#   report  the core archive, the test firmware, the size and stack report, budgets enforced
#   run     report, then the test firmware under QEMU (last line "N passed, M failed")
CROSS   ?= arm-none-eabi-
CC      := $(CROSS)gcc
AR      := $(CROSS)ar
NM      := $(CROSS)nm
OBJDUMP := $(CROSS)objdump
SIZE    := $(CROSS)size
QEMU    ?= qemu-system-arm
OUT     ?= build-cross
QEMU_TIMEOUT ?= 900
MIN_CHECKS ?= 20

CPU   := -mcpu=cortex-m33 -mthumb -mfloat-abi=soft
WARN  := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# -fstack-usage and -fcallgraph-info=su leave NAME.su and NAME.ci beside every object: the stack
# report reads them.
CFLAGS := $(CPU) -Os -g -std=gnu11 $(WARN) -ffunction-sections -fdata-sections -fstack-usage -fcallgraph-info=su
INC   := -Iinclude -Isrc
CORE_FLAGS := -ffreestanding -fno-builtin-malloc -fno-builtin-printf

CORE_SRC  := $(sort $(wildcard src/common/*.c src/se/*.c src/store/*.c src/mcu/*.c))
PORT_SRC  := $(sort $(wildcard firmware/port/*.c))
BOARD_SRC := $(sort $(wildcard firmware/mps2-an505/*.c))
TEST_SRC  := $(sort $(wildcard firmware/test/*.c)) tests/model/model.c
obj = $(patsubst %.c,$(OUT)/obj/%.o,$(1))
CORE_OBJ  := $(call obj,$(CORE_SRC))
PORT_OBJ  := $(call obj,$(PORT_SRC))
BOARD_OBJ := $(call obj,$(BOARD_SRC))
TEST_OBJ  := $(call obj,$(TEST_SRC))

LIBCORE := $(OUT)/libvsafe_core.a
LIBPORT := $(OUT)/libvsafe_port.a
ELF     := $(OUT)/vsafe-test.elf
LDSCRIPT := firmware/mps2-an505/mps2-an505.ld
# No heap: every allocator entry of the C library is wrapped to a symbol nobody defines, so a
# reference to one fails the link; the linker script defines no heap either (no end/_end for _sbrk).
NO_HEAP := $(foreach f,malloc free calloc realloc _malloc_r _free_r _calloc_r _realloc_r _sbrk _sbrk_r sbrk,-Wl,--wrap=$(f))
LDFLAGS := $(CPU) -nostartfiles -T $(LDSCRIPT) -Wl,--gc-sections -Wl,-Map=$(OUT)/vsafe-test.map $(NO_HEAP)

.PHONY: report run build
.DELETE_ON_ERROR:

build: $(LIBCORE) $(LIBPORT) $(ELF)

$(OUT)/obj/src/%.o: src/%.c
	@mkdir -p $(@D)
	@$(CC) $(CFLAGS) $(CORE_FLAGS) $(INC) -MMD -MP -c $< -o $@

$(OUT)/obj/firmware/port/%.o: firmware/port/%.c
	@mkdir -p $(@D)
	@$(CC) $(CFLAGS) $(CORE_FLAGS) $(INC) -MMD -MP -c $< -o $@

TEST_INC := -Ifirmware/port -Ifirmware/mps2-an505 -Itests/protocol -Itests/powerloss -Itests/common -Itests/model

$(OUT)/obj/firmware/%.o: firmware/%.c
	@mkdir -p $(@D)
	@$(CC) $(CFLAGS) $(INC) $(TEST_INC) -MMD -MP -c $< -o $@

# The reference model of the host tests, the power-cut oracle on the target too.
$(OUT)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	@$(CC) $(CFLAGS) $(INC) $(TEST_INC) -MMD -MP -c $< -o $@

$(LIBCORE): $(CORE_OBJ)
	@rm -f $@ && $(AR) rcs $@ $^

$(LIBPORT): $(PORT_OBJ)
	@rm -f $@ && $(AR) rcs $@ $^

$(ELF): $(BOARD_OBJ) $(TEST_OBJ) $(LIBPORT) $(LIBCORE) $(LDSCRIPT)
	@$(CC) $(LDFLAGS) $(BOARD_OBJ) $(TEST_OBJ) $(LIBPORT) $(LIBCORE) -lc -lgcc -o $@
	@if $(NM) $@ | grep -E ' [TtWw] (malloc|free|calloc|realloc|_malloc_r|_free_r|_sbrk|_sbrk_r|sbrk)$$'; then \
	  echo "cross: FAILED: the firmware contains an allocator"; exit 1; fi

report: build
	@NM=$(NM) ./scripts/check-freestanding.sh $(CORE_OBJ) $(PORT_OBJ)
	@python3 scripts/cross-report.py --size $(SIZE) --objdump $(OBJDUMP) --elf $(ELF) \
	  --budgets firmware/budgets.txt --indirect firmware/stack-indirect.txt \
	  --module src/se $(call obj,$(wildcard src/se/*.c)) --module src/store $(call obj,$(wildcard src/store/*.c)) \
	  --module src/common $(call obj,$(wildcard src/common/*.c)) --module src/mcu $(call obj,$(wildcard src/mcu/*.c)) \
	  --module firmware/port $(PORT_OBJ) --map $(OUT)/vsafe-test.map --cc $(CC) --nm $(NM) --cpu "$(CPU)" \
	  --bound-out $(OUT)/stack-command-bound.txt

run: report
	@echo "test-cross: $(QEMU) -machine mps2-an505 -kernel $(ELF) (semihosting)"
	@start=$$(date +%s); \
	timeout $(QEMU_TIMEOUT) $(QEMU) -machine mps2-an505 -cpu cortex-m33 -display none -monitor none -serial none \
	  -semihosting-config enable=on,target=native -kernel $(ELF) >$(OUT)/test-cross.log 2>&1; rc=$$?; \
	end=$$(date +%s); cat $(OUT)/test-cross.log; \
	last=$$(tail -n 1 $(OUT)/test-cross.log); \
	n=$$(echo "$$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$$/\1/p'); \
	echo "test-cross: QEMU exit status $$rc after $$((end - start)) s"; \
	if [ -z "$$n" ]; then echo "test-cross: FAILED: the firmware did not end with 'N passed, M failed'"; exit 1; fi; \
	if [ $$rc -ne 0 ]; then echo "test-cross: FAILED"; exit 1; fi; \
	if [ $$n -lt $(MIN_CHECKS) ]; then echo "test-cross: FAILED: only $$n checks (at least $(MIN_CHECKS))"; exit 1; fi; \
	used=$$(sed -n 's/^memory: deepest command stack bytes \([0-9][0-9]*\)$$/\1/p' $(OUT)/test-cross.log); \
	bound=$$(cat $(OUT)/stack-command-bound.txt); \
	if [ -z "$$used" ] || [ $$used -gt $$bound ]; then \
	  echo "test-cross: FAILED: a command used $$used B of stack on the target, above the static bound of $$bound B"; exit 1; fi; \
	echo "test-cross: deepest command stack measured on the target $$used B, static bound $$bound B"; \
	echo "$$last"

-include $(CORE_OBJ:.o=.d) $(PORT_OBJ:.o=.d) $(BOARD_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
