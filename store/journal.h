/*
 * journal.h -- the store's write-ahead journal: the durability point.
 *
 * A submission (one or more events) is made durable by appending one
 * checksummed record to the current journal file with a single write(2),
 * in the thread that submits it: once that write returns, the events
 * survive the daemon being killed (the data is in the kernel), and with
 * `sync full` an fdatasync makes them survive a power cut too. SQLite is
 * then brought up to date in the background by the store's writer thread;
 * on start, records the database does not have yet are replayed into it.
 *
 * The journal is a series of files, STATE/journal.GGGGGGGGGGGGGGGG (the
 * generation, 16 hex digits). Appends go to the newest; when it is full
 * the store switches to the next generation without waiting for anything,
 * and removes a file once the database holds all of it. Each file's
 * header names the store it belongs to (the database's journal id), so a
 * journal is never replayed into another database. See journal.c for the
 * format.
 */
#ifndef LH_JOURNAL_H
#define LH_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct lh_buf;
struct lh_event;
struct lh_journal;

#define LH_JOURNAL_PREFIX "journal."
#define LH_JOURNAL_HEADER 24	/* bytes before a file's first record */

/*
 * Open journal file `gen` of the store `id` for appending, creating it if
 * needed. An existing file must belong to the same store and generation
 * (else -EUCLEAN and a message).
 */
int lh_journal_open(struct lh_journal **out, const char *dir, int sync_full, uint64_t id,
		    uint64_t gen, struct lh_buf *err);
void lh_journal_close(struct lh_journal *j);

/*
 * Append events as one record, numbering them from first_seq on (stored
 * for tools; the store numbers rows itself). Returns 0 once durable, with
 * the generation and the file's size after the record in *gen and *end,
 * or -errno (nothing was acknowledged; a partial record is cut off).
 */
int lh_journal_append(struct lh_journal *j, const struct lh_event *ev, int n, int64_t first_seq,
		      uint64_t *gen, uint64_t *end);

/* Bytes in the current file (header included), and its generation. */
uint64_t lh_journal_size(struct lh_journal *j);
uint64_t lh_journal_generation(struct lh_journal *j);

/* Appends go to a new file, generation `gen`, from now on. */
int lh_journal_switch(struct lh_journal *j, uint64_t gen);

/* The generations of the journal files in dir, ascending (*gens malloc'd). */
int lh_journal_list(const char *dir, uint64_t **gens, size_t *n, struct lh_buf *err);
/* Remove journal file `gen` (gone already: 0). */
int lh_journal_remove(const char *dir, uint64_t gen);

/*
 * Read the whole records of journal file `gen` from byte `from` on (at
 * least the header) and call fn for each event; stops at the first torn
 * or corrupt record (the tail a crash may leave). fn returns non-zero to
 * stop. A file of another store (`id`, unless 0) or generation is
 * refused (-EUCLEAN). *end gets the offset after the last whole record;
 * *records and *bad_tail (bytes ignored at the end) may be NULL. No such
 * file: 0 and nothing read.
 */
typedef int (*lh_journal_fn)(void *arg, int64_t seq, const struct lh_event *ev, uint64_t end);
int lh_journal_replay(const char *dir, uint64_t id, uint64_t gen, uint64_t from, lh_journal_fn fn,
		      void *arg, uint64_t *records, uint64_t *end, uint64_t *bad_tail, struct lh_buf *err);

#endif
