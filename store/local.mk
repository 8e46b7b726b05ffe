# store/ -- the SQLite event store. Links SQLite, xxHash (chain checksums,
# content ids, chunking) and Jansson (import); knows nothing of FUSE.
noinst_LIBRARIES += store/libstore.a
store_libstore_a_SOURCES = \
	store/blob.c \
	store/cdc.c \
	store/chain.c \
	store/events.c \
	store/export.c \
	store/journal.c \
	store/journal.h \
	store/reader.c \
	store/schema.c \
	store/store.c \
	store/store.h \
	store/store_int.h \
	store/vacuum.c \
	store/verify.c
store_libstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(XXHASH_CFLAGS) $(JANSSON_CFLAGS)
STORE_LIBS = store/libstore.a common/libcommon.a $(SQLITE_LIBS) $(XXHASH_LIBS) $(JANSSON_LIBS)
dist_pkgdata_DATA += store/schema.sql
