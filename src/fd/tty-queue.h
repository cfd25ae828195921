/* fd/tty-queue.h: the bytes a pty holds unread, and its settings. Dump: read from the master
 * (what the slave wrote) and from a slave (what was typed at the master, line by line in
 * canonical mode, then the unterminated rest); reading takes them, so they are put back when
 * the tree runs on. Restore: put back with TIOCSTI, which passes each byte through the line
 * discipline at once, under settings that neither echo nor translate them again. */
#pragma once

#include <termios.h>

#include "fd/kind.h"

/* Reads the queues of the pty of master_fd (shared with the task: its flags are put back)
 * through slave_fd (a descriptor of minicr's own, O_NONBLOCK) into te's input, input_tail and
 * output, with storage from ctx. packet: the master is in packet mode (turned off meanwhile).
 * Returns 0 or -errno (logged). */
int tty_queue_dump(struct fd_dump_ctx *ctx, int master_fd, int slave_fd, bool packet,
		   const struct termios *t, TtyFileEntry *te);

/* Puts te's queues into the pty: input through slave_fd, output through master_fd; t is the
 * slave's settings, set again at the end. Returns 0 or -errno (logged). */
int tty_queue_refill(int master_fd, int slave_fd, const struct termios *t, const TtyFileEntry *te);
