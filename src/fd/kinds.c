/* fd/kinds.c: the registry of fd kinds. At dump, kinds are asked in this order and the first
 * that recognises an fd takes it: specific kinds come before the path-based catch-alls, and
 * the kinds that only refuse come last. Adding a kind is one line here. */
#include "fd/kind.h"

#include "base/util.h"

/* One line per kind: X(name) stands for `const struct fd_kind fd_kind_<name>` in fd/<name>.c. */
#define FD_KINDS(X)                                                                                \
	X(pipe)                                                                                    \
	X(fifo)                                                                                    \
	X(memfd)                                                                                   \
	X(eventfd)                                                                                 \
	X(unix)                                                                                    \
	X(inet)                                                                                    \
	X(signalfd)                                                                                \
	X(timerfd)                                                                                 \
	X(epoll)                                                                                   \
	X(pidfd)                                                                                   \
	X(inotify)                                                                                 \
	X(fanotify)                                                                                \
	X(tty)                                                                                     \
	X(chrdev)                                                                                  \
	X(dir)                                                                                     \
	X(opath)                                                                                   \
	X(reg)                                                                                     \
	X(refused)

#define DECLARE(name) extern const struct fd_kind fd_kind_##name;
#define ADDRESS(name) &fd_kind_##name,
FD_KINDS(DECLARE)
static const struct fd_kind *const kinds[] = {FD_KINDS(ADDRESS)};

const struct fd_kind *fd_kind_by_type(FdType type)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->type == type && type != FD_TYPE__FD_TYPE_UNSUPPORTED)
			return kinds[i];
	return NULL;
}

const struct fd_kind *fd_kind_recognise(const struct fd_params *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->recognise(p))
			return kinds[i];
	return NULL;
}

const struct fd_kind *const *fd_kind_all(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(kinds);
	return kinds;
}
