/* zdtm protocol, deliberately failing: it builds a little state, goes through the whole
 * protocol, and then reports FAIL. It proves that the driver turns a FAIL: line into a failed
 * scenario and keeps a reproducer bundle for it (test/scenarios/check-zdtm.sh). */
#include <unistd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	int p[2];

	zdtm_init(argc, argv);
	zdtm_check(pipe(p) == 0 && write(p[1], "x", 1) == 1, "pipe: %m");

	zdtm_ready();
	zdtm_wait();

	zdtm_fail("deliberately failing scenario (it tests the driver's FAIL path)");
}
