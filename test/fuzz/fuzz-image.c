/* fuzz-image: libFuzzer target over the pure image decoder. Each input is taken as a whole
 * image file; every record that decodes is also rendered as text and JSON, and the input is
 * run through the path checks, so hostile data reaches all the code restore and show trust. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "image-decode.h"
#include "image-path.h"
#include "image-render.h"

#define FUZZ_INPUT_MAX (1u << 20) /* bytes; larger inputs only slow the fuzzer down */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "we");
	return f;
}

static int render(enum image_kind kind, size_t index, const ProtobufCMessage *msg, void *opaque)
{
	FILE *f = opaque;

	(void)kind;
	(void)index;
	if (f) {
		image_render_text(f, msg, 2);
		image_render_json(f, msg);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_decode_result res;
	struct image_error err;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	if (image_decode(data, size, -1, render, sink(), &res, &err) == -EBADMSG) {
		char line[512];

		image_error_format(&err, "fuzz.img", line, sizeof(line));
	}
	(void)image_path_check_len((const char *)data, size, 0, NULL);
	(void)image_path_check_len((const char *)data, size, IMAGE_PATH_ALLOW_ABSOLUTE, NULL);
	return 0;
}
