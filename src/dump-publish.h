/* dump-publish.h: a dump's images reach the images dir as one set or not at all. They are
 * written into a private directory inside it (.minicr-dump.PID.N, flock'ed while the dump
 * lives). Publishing removes the previous set's inventory.img first, then its other images,
 * moves the new images in and inventory.img last: restore needs the inventory, so an images
 * dir caught halfway (minicr killed) holds none and is refused, never read as a mix of two
 * dumps. Private directories whose dump died (their lock is free) are removed when the next
 * dump into the same images dir starts. */
#pragma once

struct dump_publish;

/* Creates the images dir if needed, removes dead dumps' private directories, and creates and
 * locks this dump's. Returns 0 or -errno (logged). */
int dump_publish_open(const char *images_dir, struct dump_publish **ret_pub);

/* The private directory the images are written into (borrowed). */
int dump_publish_dirfd(const struct dump_publish *pub);

/* Replaces the images dir's image set by the private directory's, inventory.img last, and
 * removes the private directory. Other files of the images dir (logs) stay. Returns 0 or
 * -errno (logged); a failure leaves the images dir without inventory.img. */
int dump_publish_commit(struct dump_publish *pub);

/* Removes the private directory if it is still there, and frees. NULL-safe, returns NULL. */
struct dump_publish *dump_publish_free(struct dump_publish *pub);
