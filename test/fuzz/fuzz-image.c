/* fuzz-image: libFuzzer target over the image reader restore and show use (image-read.c, over
 * an image held in memory). Each input is taken as a whole image file; every record that
 * decodes is also rendered as text and JSON, and the input is run through the path checks, so
 * hostile data reaches all the code restore and show trust. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "image-read.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_reader *r = NULL;
	ProtobufCMessage *msg;
	FILE *f = sink();
	int ret;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	ret = image_reader_open_mem(data, size, -1, "fuzz.img", &r);
	while (ret >= 0 && !image_kind_is_raw(image_reader_kind(r)) &&
	       (ret = image_read_entry(r, &msg)) > 0) {
		if (f) {
			image_render_text(f, msg, 2);
			image_render_json(f, msg);
		}
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	if (ret == -EBADMSG && r) {
		char line[512];

		image_error_format(image_reader_error(r), "fuzz.img", line, sizeof(line));
	}
	image_reader_free(r);
	(void)image_path_check_len((const char *)data, size, 0, NULL);
	(void)image_path_check_len((const char *)data, size, IMAGE_PATH_ALLOW_ABSOLUTE, NULL);
	return 0;
}
