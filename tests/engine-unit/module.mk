# tests/engine-unit/: cmocka unit tests of the lock engine (master/engine.h), derived from the
# contract docs/engine.md and the spec sections B.1-B.11. One program per concern
# (test_<concern>.c); all share helpers.c (the test DSL). They are declared only once the
# engine sources exist, so that the tree builds before the engine does.
ifneq ($(wildcard master/engine*.c),)
ENGINE_UNIT_TESTS := $(patsubst tests/engine-unit/test_%.c,%,$(wildcard tests/engine-unit/test_*.c))
$(foreach p,$(ENGINE_UNIT_TESTS),$(eval $(call c_program,tests/engine-unit/test_$(p),tests/engine-unit/test_$(p).c tests/engine-unit/helpers.c,$(BUILD)/librdlmengine.a,-lcmocka,TESTS)))
endif
