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

/* Open (create) STATE/journal for appending. */
int lh_journal_open(struct lh_journal **out, const char *dir, int sync_full, struct lh_buf *err);
void lh_journal_close(struct lh_journal *j);

/*
 * Append events as one record, numbering them from *first_seq on (the
 * caller's sequence; the journal only stores it). Returns 0 once durable,
 * or -errno (nothing was acknowledged; a partial record is ignored on
 * replay).
 */
int lh_journal_append(struct lh_journal *j, const struct lh_event *ev, int n, int64_t first_seq);

/* Bytes in the journal now. */
uint64_t lh_journal_size(struct lh_journal *j);

/* Empty the journal (every record in it has reached the database). */
int lh_journal_truncate(struct lh_journal *j);

/*
 * Read every whole record of STATE/journal in order and call fn for each
 * event with its sequence number; stops at the first torn or corrupt
 * record (the tail a crash may leave). fn returns non-zero to stop.
 * *records and *bad_tail (bytes ignored at the end) may be NULL.
 */
typedef int (*lh_journal_fn)(void *arg, int64_t seq, const struct lh_event *ev);
int lh_journal_replay(const char *dir, lh_journal_fn fn, void *arg, uint64_t *records,
		      uint64_t *bad_tail, struct lh_buf *err);

#endif
