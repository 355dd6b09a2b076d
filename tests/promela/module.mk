# tests/promela/: the Promela model of the fast/slow lock protocol (docs/model-checking.md).
# check.sh generates, compiles and runs every verification with spin in a temporary directory
# and prints "N passed, N failed"; tests/run-tests runs it like any test program. It builds
# its own verifiers (no project code), so the sanitizer stage of `make test` leaves it out.
ifneq ($(SAN),1)
TESTS += tests/promela/check.sh
endif
