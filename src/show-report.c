/* show-report.c: `minicr show DIR --dot | --svg FILE | --html FILE`: the picture of an image set
 * (show-graph.c), rendered to SVG through Graphviz's libgvc when minicr was built with it, and
 * one self-contained HTML page holding the picture, the set's summary, every image decoded, and
 * the dump and restore timelines when their logs are in the directory. */
#define LOG_PREFIX "show: "
#include "show-report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/log.h"
#include "base/util.h"
#include "config.h"
#include "image-set/image-set.h"
#include "show-graph.h"
#include "show.h"

#ifdef HAVE_LIBGVC
#include <graphviz/gvc.h>
#define SHOW_REPORT_HAS_SVG true
#else
#define SHOW_REPORT_HAS_SVG false
#endif

static int load_set(const char *dir, struct image_set **ret_set)
{
	cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct rlimit nofile;

	if (dirfd < 0)
		return pr_errno("cannot open images directory '%s'", dir);
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return pr_errno("cannot read the fd limit");
	return image_set_load(
	    dirfd, image_set_fd_limit(nofile.rlim_max < INT_MAX ? (int)nofile.rlim_max : INT_MAX),
	    ret_set);
}

/* The DOT text of the set, malloc'ed in *ret_dot. */
static int make_dot(const struct image_set *set, bool full, char **ret_dot, size_t *ret_len)
{
	FILE *f = open_memstream(ret_dot, ret_len);
	int r;

	if (!f)
		return pr_errno("cannot make the graph");
	r = show_graph_dot(f, set, full);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		free(*ret_dot);
		*ret_dot = NULL;
		return pr_neg(r, "cannot make the graph");
	}
	return 0;
}

#ifdef HAVE_LIBGVC
static int render_svg(const char *dot, char **ret_svg, size_t *ret_len)
{
	GVC_t *gvc = gvContext();
	Agraph_t *g = gvc ? agmemread(dot) : NULL;
	unsigned int len = 0;
	char *data = NULL;
	int r = -EIO;

	if (g && gvLayout(gvc, g, "dot") == 0) {
		if (gvRenderData(gvc, g, "svg", &data, &len) == 0 && data) {
			*ret_svg = malloc((size_t)len + 1);
			if (*ret_svg) {
				memcpy(*ret_svg, data, len);
				(*ret_svg)[len] = '\0';
				*ret_len = len;
				r = 0;
			} else {
				r = -ENOMEM;
			}
			gvFreeRenderData(data);
		}
		gvFreeLayout(gvc, g);
	}
	if (g)
		agclose(g);
	if (gvc)
		gvFreeContext(gvc);
	if (r < 0)
		pr_err("cannot render the graph with Graphviz");
	return r;
}
#else
static int render_svg(const char *dot, char **ret_svg, size_t *ret_len)
{
	(void)dot;
	(void)ret_svg;
	(void)ret_len;
	pr_err("this minicr was built without Graphviz's libgvc: --svg is not available, "
	       "--dot still works");
	return -ENOTSUP;
}
#endif

static int write_file(const char *path, const char *data, size_t len)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return pr_errno("cannot create '%s'", path);
	if (write_all(fd, data, len) < 0 || close(TAKE_FD(fd)) < 0)
		return pr_errno("cannot write '%s'", path);
	return 0;
}

/* ---- HTML -------------------------------------------------------------------------------- */

/* Text into HTML: names escaped as everywhere (vis), then the HTML metacharacters. */
static void html_text(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		char buf[1024];
		size_t n = len - i < 200 ? len - i : 200;

		escape_bytes(buf, sizeof(buf), s + i, n);
		for (const char *p = buf; *p; p++) {
			switch (*p) {
			case '<':
				fputs("&lt;", out);
				break;
			case '>':
				fputs("&gt;", out);
				break;
			case '&':
				fputs("&amp;", out);
				break;
			case '"':
				fputs("&quot;", out);
				break;
			default:
				fputc(*p, out);
			}
		}
		i += n;
	}
}

/* Keeps whole lines of text: line breaks are what the text and logs are made of. */
static void html_lines(FILE *out, const char *s, size_t len)
{
	for (const char *end = s + len; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		html_text(out, s, n);
		fputc('\n', out);
		s += n + (nl ? 1 : 0);
	}
}

static void html_summary(FILE *out, const char *dir, const struct image_set *set)
{
	const InventoryEntry *inv = set->inv;

	fputs("<h1>minicr image set <code>", out);
	html_text(out, dir, strlen(dir));
	fputs("</code></h1>\n<table class=\"summary\">\n", out);
	fprintf(out, "<tr><th>format version</th><td>%u</td></tr>\n", inv->format_version);
	if (inv->kernel_release) {
		fputs("<tr><th>kernel at dump</th><td>", out);
		html_text(out, inv->kernel_release, strlen(inv->kernel_release));
		fputs("</td></tr>\n", out);
	}
	fprintf(out,
		"<tr><th>tasks</th><td>%zu (root %d)</td></tr>\n"
		"<tr><th>open file descriptions</th><td>%zu</td></tr>\n"
		"<tr><th>mounts of the tree's namespace</th><td>%zu</td></tr>\n"
		"<tr><th>detached mounts</th><td>%zu</td></tr>\n</table>\n",
		set->n_tasks, set->tasks[0].pst->pid, set->n_files, set->n_mnts, set->n_detached);
}

/* Every image decoded, as `minicr show` prints it, one folded section per file. */
static int html_images(FILE *out, const char *dir)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f)
		return pr_errno("cannot decode the images");
	r = show_print(dir, false, f);
	fclose(f);
	if (r == 0) {
		fputs("<h2>Images</h2>\n<details><summary>every image, decoded</summary><pre>",
		      out);
		html_lines(out, text, len);
		fputs("</pre></details>\n", out);
	}
	free(text);
	return r;
}

/* What a log in the images directory tells: the --explain narration ("explain: ..." lines), then
 * the other timed lines ("tree seized in 1.2 ms", "12.345 ms: files open": at -v4 dump and
 * restore time every step). */
static void html_log(FILE *out, int dirfd, const char *name)
{
	cleanup_free char *log = NULL;
	ssize_t len = read_file_at(dirfd, name, &log);

	if (len <= 0)
		return;
	for (int pass = 0; pass < 2; pass++) {
		bool any = false;
		const char *p = log;

		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			const char *ex = memmem(p, n, "explain: ", 9);
			bool take = pass == 0 ? ex != NULL : !ex && memmem(p, n, " ms", 3);

			if (take) {
				if (!any)
					fprintf(out, "<h2>%s %s</h2>\n<ol class=\"%s\">\n",
						pass == 0 ? "What minicr did:" : "Timeline of",
						name, pass == 0 ? "explain" : "timeline");
				any = true;
				fputs("<li>", out);
				if (ex)
					html_text(out, ex + 9, n - (size_t)(ex + 9 - p));
				else
					html_text(out, p, n);
				fputs("</li>\n", out);
			}
			p += n + (nl ? 1 : 0);
		}
		if (any)
			fputs("</ol>\n", out);
	}
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>minicr image set</title>\n<style>\n"
    "body { font-family: sans-serif; margin: 2em; }\n"
    "table { border-collapse: collapse; margin: 1em 0; }\n"
    "th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }\n"
    "pre { background: #f6f6f6; padding: 1em; overflow: auto; }\n"
    ".graph svg { max-width: 100%; height: auto; }\n"
    "</style>\n</head>\n<body>\n";

/* Marks the page as rendered once it has loaded: what the browser test reads back. */
static const char html_tail[] =
    "<script>\n"
    "window.addEventListener('load', function () {\n"
    "  document.body.setAttribute('data-rendered',\n"
    "    document.querySelectorAll('.graph svg g.node').length + ' nodes');\n"
    "});\n"
    "</script>\n</body>\n</html>\n";

static int write_html(const char *path, const char *dir, const struct image_set *set,
		      const char *dot, const char *svg)
{
	cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *page = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&page, &len);
	int r;

	if (!out || dirfd < 0) {
		if (out)
			fclose(out);
		free(page);
		return pr_errno("cannot make the report of '%s'", dir);
	}
	fputs(html_head, out);
	html_summary(out, dir, set);
	fputs("<h2>The set</h2>\n<div class=\"graph\">\n", out);
	if (svg) {
		/* the picture itself, inlined: the page needs nothing else */
		const char *start = strstr(svg, "<svg");

		fputs(start ? start : svg, out);
	} else {
		fputs("<p>Graphviz was not available to draw the graph; its DOT text:</p><pre>",
		      out);
		html_lines(out, dot, strlen(dot));
		fputs("</pre>", out);
	}
	fputs("</div>\n", out);
	r = html_images(out, dir);
	html_log(out, dirfd, "dump.log");
	html_log(out, dirfd, "restore.log");
	fputs(html_tail, out);
	if (fclose(out) != 0 && r == 0)
		r = pr_errno("cannot make the report of '%s'", dir);
	if (r == 0)
		r = write_file(path, page, len);
	free(page);
	return r;
}

int show_report_run(const char *dir, const struct show_report_opts *o)
{
	cleanup(image_set_freep) struct image_set *set = NULL;
	cleanup_free char *dot = NULL, *svg = NULL;
	size_t dot_len = 0, svg_len = 0;
	int r;

	r = load_set(dir, &set);
	if (r < 0)
		return r;
	r = make_dot(set, o->full, &dot, &dot_len);
	if (r < 0)
		return r;
	if (o->dot && fwrite(dot, 1, dot_len, stdout) != dot_len)
		return pr_errno("cannot write to standard output");
	/* without libgvc the page shows the DOT text instead of the picture */
	if (o->svg_path || (o->html_path && SHOW_REPORT_HAS_SVG)) {
		r = render_svg(dot, &svg, &svg_len);
		if (r < 0)
			return r;
	}
	if (o->svg_path && (r = write_file(o->svg_path, svg, svg_len)) < 0)
		return r;
	if (o->html_path) {
		r = write_html(o->html_path, dir, set, dot, svg);
		if (r < 0)
			return r;
		printf("report written to %s\n", o->html_path);
	}
	return fflush(stdout) == 0 ? 0 : pr_errno("cannot write to standard output");
}
