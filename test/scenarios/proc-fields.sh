#!/usr/bin/env bash
# proc-fields.sh before|after SESSION DIR: the "nothing dropped silently" probe of the scenario
# driver (run.sh --probe). "before" records, for every process and thread of the session, each
# field that /proc/PID/{status,limits,smaps,fdinfo/*,mountinfo,cgroup,timers} and /proc/locks
# expose (and a few attributes of each thread from stat and timerslack_ns, and oom_score_adj);
# "after" records them again (after the restore, or after a dump that left the tree running)
# and compares.
#
# Every field must be classified in proc-fields.table: "same" (restored: must read the same
# after; "same-unless-live": unless PROBE_LIVE=1 says the scenario runs on meanwhile), "refused-unless VALUE" (the dump refuses any other value, so a dumped tree can only
# have VALUE), or "varies" with the reason it is not state (a counter, a high-water mark, which
# pages are resident). A field the table does not know fails the probe: a kernel that exposes
# something new makes someone decide whether minicr restores it or refuses it.
# Prints the differences, one per line, and exits 1 on any.
set -u
LC_ALL=C
export LC_ALL
phase=$1 session=$2 dir=$3
table=${PROC_FIELDS_TABLE:-$(dirname "$0")/proc-fields.table}

session_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }' | sort -n; }

# mount_lines PID: "mount<TAB>MOUNTPOINT<TAB>what it is", ids and device numbers left out
# (a restored mount is a new mount with new ids; peer groups are kept as their kind).
mount_lines() {
	awk '{
		opt = ""
		for (i = 7; $i != "-"; i++) {
			o = $i
			sub(/:[0-9]+$/, "", o)
			opt = opt " " o
		}
		fstype = $(i + 1); source = $(i + 2); super = $(i + 3)
		printf "mount\t%s\t%s %s%s - %s %s %s\n", $5, $4, $6, opt, fstype, source, super
	}' "/proc/$1/mountinfo" 2>/dev/null
}

# mount_of PID MNT_ID: what the mount is (for an fd's mnt_id), or "unlisted".
mount_of() {
	awk -v id="$2" '$1 == id { print $5 " " $4; found = 1 } END { if (!found) print "unlisted" }' \
		"/proc/$1/mountinfo" 2>/dev/null
}

# capture_task PID TID: the status fields; the root's parent is outside the tree (whoever
# started or restored it), so its PPid is not the tree's state.
capture_task() {
	local p=$1 t=$2 where
	where="status $p/$t"
	[ "$p" = "$t" ] && where="status $p"
	awk -F':[ \t]*' -v w="$where" -v root=$((p == session)) 'NF >= 1 && $1 != "" {
		v = substr($0, length($1) + 2); sub(/^[ \t]+/, "", v); gsub(/\t/, " ", v)
		if ($1 == "PPid" && root) v = "(outside the tree)"
		printf "%s\t%s\t%s\n", w, $1, v }' "/proc/$p/task/$t/status" 2>/dev/null
}

# capture_cgroup PID TID: one key per hierarchy, its controllers ("v2" for cgroup v2; a v1
# hierarchy's number differs between boots), and the cgroup's path.
capture_cgroup() {
	local p=$1 t=$2 where
	where="cgroup $p/$t"
	[ "$p" = "$t" ] && where="cgroup $p"
	awk -v w="$where" '{
		i = index($0, ":"); rest = substr($0, i + 1); j = index(rest, ":")
		k = substr(rest, 1, j - 1); if (k == "") k = "v2"
		v = substr(rest, j + 1); gsub(/\t/, " ", v)
		printf "%s\t%s\t%s\n", w, k, v }' "/proc/$p/task/$t/cgroup" 2>/dev/null
}

capture_process() { # pid
	local p=$1 t f n
	for t in $(ls "/proc/$p/task" 2>/dev/null | sort -n); do
		capture_task "$p" "$t"
		capture_cgroup "$p" "$t"
	done
	# limits: fixed columns; the name with spaces made underscores.
	awk -v w="limits $p" 'NR > 1 {
		name = substr($0, 1, 26); sub(/ +$/, "", name); gsub(/ /, "_", name)
		rest = substr($0, 27); gsub(/ +/, " ", rest); sub(/^ /, "", rest); sub(/ $/, "", rest)
		printf "%s\t%s\t%s\n", w, name, rest }' "/proc/$p/limits" 2>/dev/null
	for f in $(ls "/proc/$p/fdinfo" 2>/dev/null | sort -n); do
		n="fdinfo $p/$f"
		# names are bytes: backslash, tab and newline escaped to keep one field per line;
		# an object's [inode] and an O_TMPFILE file's "#inode" name are new at restore
		link=$(readlink "/proc/$p/fd/$f" 2>/dev/null; echo x)
		link=${link%x}
		link=${link%$'\n'}
		link=${link//\\/\\\\}
		link=${link//$'\t'/\\t}
		link=${link//$'\n'/\\n}
		awk -F':' -v w="$n" '{
			k = $1; v = substr($0, length($1) + 2); sub(/^[ \t]+/, "", v); gsub(/[ \t]+/, " ", v)
			if (k == "lock") { sub(/^[0-9]+: /, "", v); sub(/ [0-9a-f]+:[0-9a-f]+:[0-9]+ /, " ", v) }
			# which inode and device a watch, mark or epoll item is on, and its file handle:
			# objects made again at restore are new inodes; the target is compared by fd
			if (k ~ /^fanotify (ino|mnt_id|sdev)$/) sub(/^[^ ]+ ?/, "", v)
			gsub(/(^| )(ino|sdev|fhandle-bytes|fhandle-type|f_handle):[^ ]*/, "", v)
			printf "%s\t%s\t%s\n", w, k, v }' "/proc/$p/fdinfo/$f" 2>/dev/null |
			while IFS=$'\t' read -r w k v; do
				[ "$k" = mnt_id ] && v=$(mount_of "$p" "$v")
				# O_TMPFILE (with its O_DIRECTORY bit) shows in the flags of a file made
				# so for as long as it is open; one linked since (it has a name) is
				# reopened by its file handle at restore, which no open can give them
				if [ "$k" = flags ] && (((0$v & 020200000) == 020200000)) &&
					[ "$(stat -L -c %h "/proc/$p/fd/$f" 2>/dev/null)" != 0 ]; then
					v=$(printf '0%o' $((0$v & ~020200000)))
				fi
				printf '%s\t%s\t%s\n' "$w" "$k" "$v"
			done
		printf '%s\tlink\t%s\n' "$n" "$(sed 's/\[[0-9]*\]/[]/; s|/#[0-9]* (deleted)$|/#ino (deleted)|' <<<"$link")"
	done
	# attrs: what status leaves out but a thread sets for itself: nice, scheduling policy and
	# real-time priority (stat fields 19, 41, 40), timer slack (/proc/TID: task/TID has no
	# timerslack_ns); and the process's OOM score adjustment.
	for t in $(ls "/proc/$p/task" 2>/dev/null | sort -n); do
		w="attrs $p/$t"
		[ "$p" = "$t" ] && w="attrs $p"
		awk -v w="$w" '{ sub(/^.*\) /, ""); printf "%s\tnice\t%s\n%s\tpolicy\t%s\n%s\trt_priority\t%s\n", w, $17, w, $39, w, $38 }' \
			"/proc/$p/task/$t/stat" 2>/dev/null
		printf '%s\ttimerslack_ns\t%s\n' "$w" "$(cat "/proc/$t/timerslack_ns" 2>/dev/null)"
	done
	printf 'attrs %s\toom_score_adj\t%s\n' "$p" "$(cat "/proc/$p/oom_score_adj" 2>/dev/null)"
	# maps: each mapping by its range: permissions, offset, what it maps, and its VmFlags
	# from smaps, without sd (soft-dirty tracks writes) and ac (VM_ACCOUNT, commit charge
	# bookkeeping: a read-only private mapping whose pages the restore wrote has it). Where
	# the kernel split one anonymous mapping into several with the same attributes (its
	# history, not its state), they are joined.
	awk -v w="maps $p" '
		function flush() {
			if (key == "") return
			# an anonymous mapping right after one with the same attributes joins it
			if (pend != "" && val == pval && val ~ /^[^ ]+ 00000000 \[/ && pend == kstart) {
				pend = kend; key = ""; return
			}
			if (pend != "") print w "\t" pstart "-" pend "\t" pval
			pstart = kstart; pend = kend; pval = val; key = ""
		}
		/^[0-9a-f]+-[0-9a-f]+ / { flush(); key = $1; split($1, r, "-"); kstart = r[1]; kend = r[2]
			val = $2 " " $3; path = ""
			for (i = 6; i <= NF; i++) path = path (i > 6 ? " " : "") $i
			if (path != "") val = val " " path; next }
		/^VmFlags:/ { f = ""; for (i = 2; i <= NF; i++) if ($i != "sd" && $i != "ac") f = f " " $i
			val = val " [" substr(f, 2) "]" }
		END { flush(); if (pend != "") print w "\t" pstart "-" pend "\t" pval }' \
		"/proc/$p/smaps" 2>/dev/null
	# POSIX timers by id: signal and value, whom they notify, clock (the time left is not shown)
	awk -v w="timers $p" '$1 == "ID:" { id = $2; next }
		{ k = $1; sub(/:$/, "", k); printf "%s\tID %s %s\t%s\n", w, id, k, $2 }' \
		"/proc/$p/timers" 2>/dev/null
	mount_lines "$p" | sed "s/^mount\t/mountinfo $p\t/"
	# /proc/locks: the locks this process owns (OFD locks have no owner pid: they appear in the
	# fdinfo of the fds that hold them).
	awk -v p="$p" -v w="locks $p" '$5 == p { printf "%s\t%s %s\t%s %s %s\n", w, $2, $4, $3, $7, $8 }' \
		/proc/locks
}

capture() {
	local p
	for p in $(session_pids "$session"); do
		capture_process "$p"
	done | awk -F'\t' '
		# a key seen several times (epoll items, locks, overmounts) becomes one sorted value
		{ k = $1 "\t" $2; v[k] = (n[k]++ ? v[k] "\034" : "") $3 }
		END { for (k in v) { m = split(v[k], a, "\034"); s = ""
			# insertion sort: few values per key
			for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
			for (i = 1; i <= m; i++) s = s (i > 1 ? " | " : "") a[i]
			print k "\t" s } }' | sort
}

case "$phase" in
before) capture >"$dir/proc-fields.before" ;;
after)
	capture >"$dir/proc-fields.after"
	# join both captures on (where, key) and judge each field by its class in the table.
	awk -F'\t' -v table="$table" -v live="${PROBE_LIVE:-0}" '
		BEGIN {
			while ((getline line < table) > 0) {
				if (line ~ /^[ \t]*(#|$)/) continue
				split(line, f, /[ \t]+/)
				cls[f[1] "\t" f[2]] = f[3]
				if (f[3] == "refused-unless") { want = line; sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", want); dflt[f[1] "\t" f[2]] = want }
			}
			bad = 0
		}
		FNR == NR { before[$1 "\t" $2] = $3; seen[$1 "\t" $2] = 1; next }
		{ after[$1 "\t" $2] = $3; seen[$1 "\t" $2] = 1 }
		END {
			for (k in seen) {
				split(k, wk, "\t"); split(wk[1], file, " ")
				kk = wk[2]; gsub(/ /, "_", kk)
				c = file[1] "\t" kk
				if (!(c in cls)) c = file[1] "\t*"
				b = (k in before) ? before[k] : "(absent)"
				a = (k in after) ? after[k] : "(absent)"
				if (!(c in cls)) {
					printf "%s: field %s (%s) is neither restored nor refused: classify it in proc-fields.table\n", wk[1], wk[2], b
					bad = 1
				} else if ((cls[c] == "same" || (cls[c] == "same-unless-live" && live != 1)) && a != b) {
					printf "%s: %s was \"%s\", is \"%s\"\n", wk[1], wk[2], b, a
					bad = 1
				} else if (cls[c] == "refused-unless" && b != dflt[c]) {
					printf "%s: %s is \"%s\", which the dump should have refused (only \"%s\" is restorable)\n", wk[1], wk[2], b, dflt[c]
					bad = 1
				}
			}
			exit bad
		}' "$dir/proc-fields.before" "$dir/proc-fields.after" | sort
	exit "${PIPESTATUS[0]}"
	;;
*) echo "usage: proc-fields.sh before|after SESSION DIR" >&2; exit 2 ;;
esac
