# bash completion for minicr(8): commands, options (per command), pids for -t (the processes
# the user could dump), directories for -D and -W, image sets and image files for show, files
# for -o, --pidfile, --svg and --html, and feature names for check --feature.
_minicr()
{
	local cur prev cmd="" i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		dump | restore | show | check) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done

	case $prev in
	-t | --tree)
		COMPREPLY=($(compgen -W "$(ps -eo pid= 2>/dev/null)" -- "$cur"))
		return
		;;
	-D | --images-dir | -W | --work-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-o | --log-file | --pidfile | --svg | --html)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--detached-mounts)
		COMPREPLY=($(compgen -W "clone mountpoint" -- "$cur"))
		return
		;;
	--feature)
		COMPREPLY=($(compgen -W "list $(minicr check --feature list 2>/dev/null)" -- "$cur"))
		return
		;;
	esac

	local common="-o --log-file -v --verbosity -W --work-dir -h --help -V --version"
	case $cmd in
	"")
		COMPREPLY=($(compgen -W "dump restore show check $common" -- "$cur"))
		;;
	dump)
		COMPREPLY=($(compgen -W "-t --tree -D --images-dir -R --leave-running --explain
			--tcp-established --shell-job --file-locks --ext-unix-sk --link-remap
			--manage-cgroups $common" -- "$cur"))
		;;
	restore)
		COMPREPLY=($(compgen -W "-D --images-dir -d --restore-detached -s --leave-stopped
			--pidfile --check-only --explain --detached-mounts --tcp-established
			--shell-job --manage-cgroups $common" -- "$cur"))
		;;
	show)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --dot --svg --html --full $common" -- "$cur"))
		else
			# image sets (directories) and image files
			COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X '!*.img' -- "$cur"))
		fi
		;;
	check)
		COMPREPLY=($(compgen -W "--json --feature --all $common" -- "$cur"))
		;;
	esac
}
complete -F _minicr minicr
