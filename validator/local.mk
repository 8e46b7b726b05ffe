# validator/ -- the speed layer. Links PCRE2, xxHash and Jansson; nothing
# of FUSE or SQLite (the link enforces it: libvalidator.a has no such
# symbols to call).
noinst_LIBRARIES += validator/libvalidator.a
validator_libvalidator_a_SOURCES = \
	validator/cache.c validator/cache.h \
	validator/interp.c validator/interp.h \
	validator/path.c validator/path.h \
	validator/policy.c validator/policy.h validator/policy_int.h \
	validator/request.c validator/request.h \
	validator/risk.c \
	validator/shell.c validator/shell.h \
	validator/validator.c validator/validator.h \
	validator/verdict.c validator/verdict.h
nodist_validator_libvalidator_a_SOURCES = validator/default_policy.c
validator_libvalidator_a_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(XXHASH_CFLAGS) $(JANSSON_CFLAGS)
VALIDATOR_LIBS = validator/libvalidator.a common/libcommon.a \
	$(PCRE2_LIBS) $(XXHASH_LIBS) $(JANSSON_LIBS)

# The default policy is compiled in (and installed, for reference and for
# `include builtin:default` in policies of your own).
dist_pkgdata_DATA += validator/default.policy
BUILT_SOURCES += validator/default_policy.c
CLEANFILES += validator/default_policy.c
validator/default_policy.c: $(srcdir)/validator/default.policy $(srcdir)/validator/embed.sh
	$(AM_V_GEN)$(MKDIR_P) validator && \
	$(SHELL) $(srcdir)/validator/embed.sh lh_default_policy \
		< $(srcdir)/validator/default.policy > $@.tmp && mv $@.tmp $@
EXTRA_DIST += validator/embed.sh
