# store/ -- the SQLite event store. Links SQLite; knows nothing of FUSE.
noinst_LIBRARIES += store/libstore.a
store_libstore_a_SOURCES = store/journal.c store/journal.h store/store.c store/store.h
store_libstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(XXHASH_CFLAGS)
STORE_LIBS = store/libstore.a common/libcommon.a $(SQLITE_LIBS) $(XXHASH_LIBS)
dist_pkgdata_DATA += store/schema.sql
