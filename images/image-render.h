/* image-render.h: render any decoded image record as text or JSON, generically through its
 * protobuf-c descriptor (field names, nested and repeated fields, enums by name, bytes as hex),
 * so new fields need no new code here. Writes only to the given FILE; no logging. */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

/* Text mode shows this many bytes of a bytes field, then "...". */
#define IMAGE_RENDER_TEXT_BYTES 32

/* Writes the set fields of msg, one "name: value" line each, nested messages as indented
 * blocks; every line starts with indent spaces. Returns 0, or -EIO if f reports an error. */
int image_render_text(FILE *f, const ProtobufCMessage *msg, unsigned indent);

/* Writes msg as one JSON object on one line (no newline): set fields only, repeated fields as
 * arrays, enums as their names (numbers if unknown), bytes as {"len": N, "hex": "..."}, 64-bit
 * integers as numbers. Returns 0, or -EIO if f reports an error. */
int image_render_json(FILE *f, const ProtobufCMessage *msg);

/* Writes len bytes of s as a JSON string literal, escaping as needed; bytes that are not
 * valid UTF-8 become \u00XX, so the output is always valid JSON. */
void image_render_json_string(FILE *f, const char *s, size_t len);
