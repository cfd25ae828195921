/* restore.h: the restore sequence: validate images → mounts → fork tree → fds → resume. */
#pragma once

struct cli_options;

/* Restores the tree from opts->images_dir. Returns a process exit status (enum cli_exit, or the
 * root task's status when waiting for it); failures are logged and leave nothing behind. */
int restore_run(const struct cli_options *opts);
