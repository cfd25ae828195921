/* fd/timerfd.c: timerfds. Dump: clock, flags, time left, period and the expirations counted but
 * not read, from fdinfo (ABSTIME timers also keep their deadline on the clock). Restore: the
 * timer is created with the table and armed in one task holding it, after its fds are in
 * place: the time left starts running again there, and the unread expirations are put back with
 * TFD_IOC_SET_TICKS after arming (arming clears them). */
#define LOG_PREFIX "fd-timerfd: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/util.h"
#include "image-set/image-set.h"

#define NSEC_PER_SEC  1000000000LL
#define SETTIME_FLAGS (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)

static bool timerfd_recognise(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:[timerfd]") == 0 && p->fdinfo;
}

/* The clock an _ALARM clock reads (clock_gettime of the alarm clocks needs an RTC). */
static clockid_t base_clock(uint32_t clockid)
{
	if (clockid == CLOCK_REALTIME_ALARM)
		return CLOCK_REALTIME;
	if (clockid == CLOCK_BOOTTIME_ALARM)
		return CLOCK_BOOTTIME;
	return (clockid_t)clockid;
}

static bool valid_time(int64_t sec, int64_t nsec)
{
	return sec >= 0 && nsec >= 0 && nsec < NSEC_PER_SEC;
}

static int parse(const char *t, size_t len, TimerfdFileEntry *te)
{
	uint64_t clockid, flags;
	int r;

	if ((r = fdinfo_get_u64(t, len, "clockid", 10, &clockid)) < 0 ||
	    (r = fdinfo_get_u64(t, len, "ticks", 10, &te->ticks)) < 0 ||
	    (r = fdinfo_get_u64(t, len, "settime flags", 8, &flags)) < 0 ||
	    (r = fdinfo_get_pair(t, len, "it_value", &te->value_sec, &te->value_nsec)) < 0 ||
	    (r = fdinfo_get_pair(t, len, "it_interval", &te->interval_sec, &te->interval_nsec)) < 0)
		return r;
	if (clockid > INT32_MAX || (flags & ~(uint64_t)SETTIME_FLAGS) ||
	    !valid_time(te->value_sec, te->value_nsec) ||
	    !valid_time(te->interval_sec, te->interval_nsec))
		return -EINVAL;
	te->clockid = (uint32_t)clockid;
	te->settime_flags = (uint32_t)flags;
	te->has_clockid = te->has_ticks = te->has_settime_flags = true;
	te->has_value_sec = te->has_value_nsec = te->has_interval_sec = te->has_interval_nsec =
	    true;
	return 0;
}

/* fdinfo shows the time left even for an ABSTIME timer: its deadline is that much after now. */
static int add_deadline(const struct fd_params *p, TimerfdFileEntry *te)
{
	struct timespec now;
	int64_t nsec;

	if (!(te->settime_flags & TFD_TIMER_ABSTIME) || (!te->value_sec && !te->value_nsec))
		return 0;
	if (clock_gettime(base_clock(te->clockid), &now) < 0)
		return pr_errno("cannot read clock %u of timerfd fd %d of task %d", te->clockid,
				p->fd, (int)p->pid);
	nsec = now.tv_nsec + te->value_nsec;
	te->deadline_sec = now.tv_sec + te->value_sec + nsec / NSEC_PER_SEC;
	te->deadline_nsec = nsec % NSEC_PER_SEC;
	te->has_deadline_sec = te->has_deadline_nsec = true;
	return 0;
}

static int timerfd_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	TimerfdFileEntry *te = FD_DUMP_NEW(ctx, TimerfdFileEntry, TIMERFD_FILE_ENTRY__INIT);
	int r;

	struct itimerspec its;
	const char *text;
	size_t len;

	if (!te)
		return -ENOMEM;
	/* A periodic timer that expired is moved on only when someone looks: till then fdinfo
	 * counts one expiration and no time left. timerfd_gettime() brings it up to date as a
	 * read would, without taking the expirations. */
	if (timerfd_gettime(p->local_fd, &its) < 0)
		return pr_errno("cannot read timerfd fd %d of task %d", p->fd, (int)p->pid);
	r = fd_params_fdinfo_now(ctx, p, &text, &len);
	if (r < 0)
		return r;
	r = parse(text, len, te);
	if (r < 0) {
		pr_err("cannot parse the fdinfo of timerfd fd %d of task %d", p->fd, (int)p->pid);
		return r == -ENOENT ? -EINVAL : r;
	}
	r = add_deadline(p, te);
	if (r < 0)
		return r;
	fe->timerfd = te;
	return 0;
}

static int timerfd_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const TimerfdFileEntry *te = fe->timerfd;

	if (!te || !te->has_clockid)
		return image_set_bad(set, "files.img record %zu: timerfd file %u has no clock", rec,
				     fe->id);
	if (te->settime_flags & ~(uint32_t)SETTIME_FLAGS)
		return image_set_bad(set,
				     "files.img record %zu: timerfd file %u has unknown flags %#x",
				     rec, fe->id, te->settime_flags);
	if (!valid_time(te->value_sec, te->value_nsec) ||
	    !valid_time(te->interval_sec, te->interval_nsec) ||
	    !valid_time(te->deadline_sec, te->deadline_nsec))
		return image_set_bad(
		    set, "files.img record %zu: timerfd file %u has a malformed time", rec, fe->id);
	return 0;
}

static int timerfd_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int flags = TFD_CLOEXEC | ((fe->flags & O_NONBLOCK) ? TFD_NONBLOCK : 0);
	int fd;

	(void)ctx;
	fd = timerfd_create((clockid_t)fe->timerfd->clockid, flags);
	if (fd < 0)
		return pr_errno("cannot create a timerfd on clock %u for file %u",
				fe->timerfd->clockid, fe->id);
	*ret_fd = fd;
	return 0;
}

/* Arms the timer once, in the first task holding it, as late in the restore as the fds allow. */
static int timerfd_after_install(const struct fd_install_ctx *t, const FileEntry *fe, int fd)
{
	const TimerfdFileEntry *te = fe->timerfd;
	struct itimerspec its = {
	    .it_interval = {.tv_sec = te->interval_sec, .tv_nsec = te->interval_nsec},
	    .it_value = {.tv_sec = te->value_sec, .tv_nsec = te->value_nsec},
	};
	int flags = (int)te->settime_flags;

	if (!fd_install_is_first_holder(t, fe->id))
		return 0;
	if (flags & TFD_TIMER_ABSTIME) {
		its.it_value.tv_sec = te->deadline_sec;
		its.it_value.tv_nsec = te->deadline_nsec;
	}
	/* a periodic timer caught at its expiry shows no time left: it is due now */
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec &&
	    (its.it_interval.tv_sec || its.it_interval.tv_nsec)) {
		its.it_value.tv_nsec = 1;
		flags &= ~TFD_TIMER_ABSTIME;
	}
	if ((its.it_value.tv_sec || its.it_value.tv_nsec) &&
	    timerfd_settime(fd, flags, &its, NULL) < 0)
		return pr_errno("cannot arm timerfd %d of task %d", fd, (int)fd_install_pid(t));
	if (te->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &te->ticks) < 0)
		return pr_errno("cannot put back %lu expirations of timerfd %d of task %d",
				(unsigned long)te->ticks, fd, (int)fd_install_pid(t));
	return 0;
}

const struct fd_kind fd_kind_timerfd = {
    .name = "timerfd",
    .type = FD_TYPE__FD_TYPE_TIMERFD,
    .recognise = timerfd_recognise,
    .dump = timerfd_dump,
    .validate = timerfd_validate,
    .open = timerfd_open,
    .after_install = timerfd_after_install,
};
