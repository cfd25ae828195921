/* fd/restore-check.h: check, changing nothing, that the files a restore would reopen by path in
 * minicr's own mount namespace are there (restore --check-only). */
#pragma once

struct image_set;

/* Opens every such file O_PATH beneath root_fd (minicr's namespace root) and checks its type.
 * Returns 0 or -errno after one line naming the file. */
int fd_check_paths(const struct image_set *set, int root_fd);
