/* image-render.c: descriptor-driven text and JSON output of protobuf-c messages. */
#include "image-render.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/escape.h"

void image_render_json_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((n = escape_utf8_len(p + i, len - i)) > 0) {
			fwrite(p + i, 1, n, f);
			i += n;
		} else {
			/* a byte that is not UTF-8 as the lone surrogate U+DC00 + byte (Python's
			 * surrogateescape): no character of a valid name reads back as one */
			fprintf(f, "\\u%04x", 0xdc00 | c);
			i++;
		}
	}
	fputc('"', f);
}

static void text_piece(FILE *f, const char *s, size_t len)
{
	char buf[1024];

	while (len > 0) {
		size_t n = len < 200 ? len : 200; /* at most 4 output bytes per input byte */

		/* do not split a UTF-8 sequence between two pieces */
		while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		if (n == 0)
			n = len < 200 ? len : 200;
		escape_bytes(buf, sizeof(buf), s, n);
		fputs(buf, f);
		s += n;
		len -= n;
	}
}

/* Text mode quotes strings with the escapes log lines use (base/escape.h): valid UTF-8 stays
 * readable, a backslash, a control byte or invalid UTF-8 becomes a C-style escape; a '"' is
 * escaped too, so the quotes delimit the string. */
static void text_string(FILE *f, const char *s)
{
	size_t len = strlen(s);

	fputc('"', f);
	for (const char *q; (q = memchr(s, '"', len)); len -= (size_t)(q - s) + 1, s = q + 1) {
		text_piece(f, s, (size_t)(q - s));
		fputs("\\\"", f);
	}
	text_piece(f, s, len);
	fputc('"', f);
}

static void bytes_hex(FILE *f, const ProtobufCBinaryData *b, size_t max)
{
	for (size_t i = 0; i < b->len && i < max; i++)
		fprintf(f, "%02x", b->data[i]);
}

/* Bytes that read as text (socket names with an abstract name's leading NUL, queued
 * messages): printable ASCII, NUL, tab and newline. */
static bool bytes_are_text(const ProtobufCBinaryData *b)
{
	for (size_t i = 0; i < b->len; i++) {
		uint8_t c = b->data[i];

		if ((c < 0x20 || c > 0x7e) && c != 0 && c != '\n' && c != '\t')
			return false;
	}
	return b->len > 0;
}

/* Text bytes C-style in quotes: \0, \n, \t, \" and \\ escaped; at most max of them. */
static void bytes_text(FILE *f, const ProtobufCBinaryData *b, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; i < b->len && i < max; i++) {
		uint8_t c = b->data[i];

		if (c == 0)
			fputs("\\0", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void enum_value(FILE *f, const ProtobufCFieldDescriptor *fd, int value, bool json)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(fd->descriptor, value);

	if (v && json)
		image_render_json_string(f, v->name, strlen(v->name));
	else if (v)
		fputs(v->name, f);
	else
		fprintf(f, "%d", value);
}

static void double_value(FILE *f, double d, bool json)
{
	if (json && !isfinite(d))
		fputs("null", f);
	else
		fprintf(f, "%.17g", d);
}

static void render_json_message(FILE *f, const ProtobufCMessage *msg);

/* Fields of bits (open flags, termios flags, event and signal masks) by their name: the text
 * rendering shows them in hex as well. */
static bool is_bit_field(const ProtobufCFieldDescriptor *fd)
{
	static const char *const suffixes[] = {"flags", "flag", "mask", "events"};
	size_t len = strlen(fd->name);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t n = strlen(suffixes[i]);

		if (len >= n && strcmp(fd->name + len - n, suffixes[i]) == 0)
			return true;
	}
	return false;
}

/* Writes one non-message value; p points at it inside the message or a repeated array. */
static void scalar_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p, bool json)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!json && *(const uint32_t *)p > 9 && is_bit_field(fd))
			fprintf(f, "%" PRIu32 " (0x%" PRIx32 ")", *(const uint32_t *)p,
				*(const uint32_t *)p);
		else
			fprintf(f, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v = *(const uint64_t *)p;

		/* Big values are mostly addresses and masks; show them in hex as well. */
		if (!json && (v > UINT32_MAX || (v > 9 && is_bit_field(fd))))
			fprintf(f, "%" PRIu64 " (0x%" PRIx64 ")", v, v);
		else
			fprintf(f, "%" PRIu64, v);
		break;
	}
	case PROTOBUF_C_TYPE_FLOAT:
		double_value(f, *(const float *)p, json);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		double_value(f, *(const double *)p, json);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		enum_value(f, fd, *(const int *)p, json);
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)p;

		if (!s)
			s = "";
		if (json)
			image_render_json_string(f, s, strlen(s));
		else
			text_string(f, s);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		if (json) {
			fprintf(f, "{\"len\": %zu, \"hex\": \"", b->len);
			bytes_hex(f, b, SIZE_MAX);
			fputs("\"}", f);
		} else {
			fprintf(f, "<%zu bytes>%s", b->len, b->len ? " " : "");
			if (bytes_are_text(b))
				bytes_text(f, b, 2 * IMAGE_RENDER_TEXT_BYTES);
			else
				bytes_hex(f, b, IMAGE_RENDER_TEXT_BYTES);
			if (b->len > (bytes_are_text(b) ? 2 : 1) * IMAGE_RENDER_TEXT_BYTES)
				fputs("...", f);
		}
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
	default:
		/* Messages are rendered by the callers; nothing else exists in protobuf-c. */
		fputs(json ? "null" : "?", f);
		break;
	}
}

static size_t type_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 0;
	}
}

/* Number of values the field holds in msg: the array length for repeated fields, else 1 if set
 * and 0 if not (optional fields without a has_ flag are pointers, NULL when unset). */
static size_t field_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *)msg;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + fd->quantifier_offset);
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + fd->quantifier_offset) == fd->id;
	if (fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(const void *const *)(base + fd->offset) != NULL;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset)
		return *(const protobuf_c_boolean *)(base + fd->quantifier_offset) != 0;
	return 1;
}

/* Address of value i of the field (i is 0 for non-repeated fields). */
static const void *field_value(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd,
			       size_t i)
{
	const char *base = (const char *)msg;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const char *const *)(base + fd->offset) + i * type_size(fd->type);
	return base + fd->offset;
}

static void indent_to(FILE *f, unsigned indent)
{
	fprintf(f, "%*s", (int)indent, "");
}

static void render_text_message(FILE *f, const ProtobufCMessage *msg, unsigned indent)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		size_t n = field_count(msg, fd);
		bool inline_array = fd->label == PROTOBUF_C_LABEL_REPEATED &&
				    fd->type != PROTOBUF_C_TYPE_MESSAGE &&
				    fd->type != PROTOBUF_C_TYPE_BYTES;

		if (n == 0)
			continue;
		if (inline_array) {
			/* Short scalar lists (uids, auxv, tids) read best on one line. */
			indent_to(f, indent);
			fprintf(f, "%s: [", fd->name);
			for (size_t j = 0; j < n; j++) {
				fputs(j ? ", " : "", f);
				scalar_value(f, fd, field_value(msg, fd, j), false);
			}
			fputs("]\n", f);
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			const void *p = field_value(msg, fd, j);

			indent_to(f, indent);
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
				fprintf(f, "%s {\n", fd->name);
				render_text_message(f, *(const ProtobufCMessage *const *)p,
						    indent + 2);
				indent_to(f, indent);
				fputs("}\n", f);
			} else {
				fprintf(f, "%s: ", fd->name);
				scalar_value(f, fd, p, false);
				fputc('\n', f);
			}
		}
	}
}

int image_render_text(FILE *f, const ProtobufCMessage *msg, unsigned indent)
{
	render_text_message(f, msg, indent);
	return ferror(f) ? -EIO : 0;
}

static void json_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p)
{
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
		render_json_message(f, *(const ProtobufCMessage *const *)p);
	else
		scalar_value(f, fd, p, true);
}

static void render_json_message(FILE *f, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	bool first = true;

	fputc('{', f);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		size_t n = field_count(msg, fd);

		if (n == 0)
			continue;
		fputs(first ? "" : ", ", f);
		first = false;
		image_render_json_string(f, fd->name, strlen(fd->name));
		fputs(": ", f);
		if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
			json_value(f, fd, field_value(msg, fd, 0));
			continue;
		}
		fputc('[', f);
		for (size_t j = 0; j < n; j++) {
			fputs(j ? ", " : "", f);
			json_value(f, fd, field_value(msg, fd, j));
		}
		fputc(']', f);
	}
	fputc('}', f);
}

int image_render_json(FILE *f, const ProtobufCMessage *msg)
{
	render_json_message(f, msg);
	return ferror(f) ? -EIO : 0;
}
