#!/usr/bin/env bash
# The bash completion (contrib/completion/minicr.bash, installed by make install): commands,
# each command's own options, pids after -t, directories after -D, feature names after
# --feature.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
MINICR=${MINICR:-./minicr}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# minicr as the completion calls it: the build's
minicr() { "$MINICR" "$@"; }
. "$top/contrib/completion/minicr.bash"

complete_line() { # words... (the last is being completed)
	COMP_WORDS=(minicr "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_minicr
	echo " ${COMPREPLY[*]} "
}

[[ $(complete_line d) == *" dump "* ]] && ok "commands: d -> dump" || not_ok "commands: $(complete_line d)"
out=$(complete_line restore --che)
[[ $out == " --check-only " ]] && ok "restore options: --che -> --check-only" || not_ok "restore --che: $out"
out=$(complete_line dump --che)
[[ $out == "  " ]] && ok "dump does not offer restore's options" || not_ok "dump --che: $out"
out=$(complete_line dump -t "$$")
[[ $out == *" $$ "* ]] && ok "-t completes pids" || not_ok "-t $$: $out"
dir=$(mktemp -d /tmp/minicr-completion.XXXXXX)
out=$(complete_line restore -D "$dir")
[[ $out == *" $dir "* ]] && ok "-D completes directories" || not_ok "-D: $out"
rmdir "$dir"
out=$(complete_line check --feature statmount_b)
[[ $out == " statmount_by_fd " ]] && ok "--feature completes feature names" || not_ok "--feature: $out"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
