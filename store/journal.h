/*
 * journal.h -- the store's write-ahead journal: the durability point.
 *
 * A submission (one or more events) is made durable by appending one
 * checksummed record to STATE/journal with a single write(2), in the
 * thread that submits it: once that write returns, the events survive the
 * daemon being killed (the data is in the kernel), and with `sync full`
 * an fdatasync makes them survive a power cut too. SQLite is then brought
 * up to date in the background by the store's writer thread; on start,
 * records the database does not have yet are replayed into it. See
 * journal.c for the record format.
 */
#ifndef LH_JOURNAL_H
#define LH_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct lh_buf;
struct lh_event;
struct lh_journal;

#define LH_JOURNAL_FILE "journal"
#define LH_JOURNAL_HEADER 16	/* bytes before the first record */

/*
 * Open (create) STATE/journal for appending. A new file starts with a
 * header for generation `gen`; an existing one keeps its own, returned in
 * *file_gen.
 */
int lh_journal_open(struct lh_journal **out, const char *dir, int sync_full, uint64_t gen,
		    uint64_t *file_gen, struct lh_buf *err);
void lh_journal_close(struct lh_journal *j);

/*
 * Append events as one record, numbering them from first_seq on (stored
 * for tools; the store numbers rows itself). Returns 0 once durable, with
 * the journal's size after the record in *end, or -errno (nothing was
 * acknowledged; a partial record is ignored on replay).
 */
int lh_journal_append(struct lh_journal *j, const struct lh_event *ev, int n, int64_t first_seq,
		      uint64_t *end);

/* Bytes in the journal now (header included). */
uint64_t lh_journal_size(struct lh_journal *j);
uint64_t lh_journal_generation(struct lh_journal *j);

/* Start generation `gen`: the journal is emptied to its new header. */
int lh_journal_rotate(struct lh_journal *j, uint64_t gen);

/*
 * Read the whole records of STATE/journal from byte `from` on (at least
 * the header) and call fn for each event; stops at the first torn or
 * corrupt record (the tail a crash may leave). fn returns non-zero to stop.
 * *end gets the offset after the last whole record; *records, *gen and
 * *bad_tail (bytes ignored at the end) may be NULL. No journal file: 0,
 * with *gen 0.
 */
typedef int (*lh_journal_fn)(void *arg, int64_t seq, const struct lh_event *ev, uint64_t end);
int lh_journal_replay(const char *dir, uint64_t from, lh_journal_fn fn, void *arg,
		      uint64_t *records, uint64_t *end, uint64_t *gen, uint64_t *bad_tail,
		      struct lh_buf *err);

#endif
