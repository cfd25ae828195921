/* detached-bind.c on a directory of the disk filesystem instead of a tmpfs. */
#define SCENARIO_ON_DISK 1
#include "detached-bind.c"
