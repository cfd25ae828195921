/* base/fd-pass.h: one fd handed across a unix socket (SCM_RIGHTS with a one-byte message), for
 * the helper processes that open something in another namespace or session and give it back. */
#pragma once

/* Sends fd over sock. Returns 0 or -errno (not logged: the caller knows what it sent). */
int fd_pass_send(int sock, int fd);

/* Receives one fd (O_CLOEXEC) from sock. Returns it, or -errno (-EPROTO when the message
 * carried no single fd; not logged). */
int fd_pass_recv(int sock);
