# tests/engine-model/: randomized model-based test of the lock engine against an independent
# brute-force reference model (ref_model.c), plus the reference's own hand-computed scenarios.
$(eval $(call c_program,tests/engine-model/test_model,tests/engine-model/test_model.c tests/engine-model/ref_model.c,$(BUILD)/librdlmengine.a,-lcmocka,TESTS))
