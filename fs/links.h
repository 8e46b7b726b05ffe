/*
 * links.h -- the names of the project's files that have more than one
 * (hard links), as the recorder and the scanner saw them.
 *
 * The record keeps a content per path (history/ has no hard links), so a
 * change through one name of an inode is a change of every other name of
 * it too: the recorder asks for them here and records each (record.c).
 * Nothing here touches the file system: a name may be stale (renamed,
 * removed behind our back), and whoever uses one checks it is still a
 * name of that inode. Names that are not are dropped; `still` is asked
 * about every name now and then (when the table has doubled since), so
 * that the names of inodes long gone do not pile up -- git links every
 * loose object to its name and unlinks the temporary one right after.
 * Thread-safe: the recorder and the scanner both report what they saw.
 */
#ifndef LH_LINKS_H
#define LH_LINKS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct lh_links;

/* still(arg, dev, ino, path): 1 if path is a name of (dev, ino), and it has others */
struct lh_links *lh_links_new(int (*still)(void *arg, dev_t dev, ino_t ino, const char *path),
			      void *arg);
void lh_links_free(struct lh_links *l);

/*
 * path's inode is st (a regular file): its name is kept when it has
 * others (st_nlink > 1); when it has no other, the inode's names are
 * forgotten.
 */
void lh_links_saw(struct lh_links *l, const struct stat *st, const char *path);

/* The other names of (dev, ino) than path, NULL-terminated (NULL: none); lh_links_names_free. */
char **lh_links_others(struct lh_links *l, dev_t dev, ino_t ino, const char *path);
void lh_links_names_free(char **names);

/* path is no name of (dev, ino) now. */
void lh_links_drop(struct lh_links *l, dev_t dev, ino_t ino, const char *path);

/* A folder moved from `from` to `to`: the names below it moved with it. */
void lh_links_moved(struct lh_links *l, const char *from, const char *to);

/* Names kept now. */
size_t lh_links_count(struct lh_links *l);

#endif
