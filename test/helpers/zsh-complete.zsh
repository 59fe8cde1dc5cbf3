# What zsh's completion offers for a command line, one candidate per line:
#   zsh -f test/helpers/zsh-complete.zsh 'tcpdiag fault ' DIR_WITH__tcpdiag
# An interactive zsh runs in a pseudo-terminal (zsh/zpty) with the completion on its fpath;
# compadd is wrapped to print each candidate, and a post-completion hook prints a marker, so
# the reader waits for the end of the completion instead of for a fixed time. The markers are
# spelled in pieces in what is typed ("<""<", 'ready''@@'): the terminal echoes the typed lines,
# and a marker read from that echo would end a wait before the command ran (under load the
# echo of the compadd wrapper was once taken for a candidate, `${^__hits[@]}`).
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "fpath=(${(q)2} \$fpath); autoload -U compinit; compinit -u -D; PROMPT=''"
zpty -w z 'compadd () { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; (( $#__hits )) || return 1; print -rl -- "<""<${^__hits[@]}>"">"; return 0 }'
zpty -w z '_done_marker () { print -r -- "@@""done@@" }; comppostfuncs=(_done_marker)'
zpty -w z 'zstyle ":completion:*" list-prompt ""; zstyle ":completion:*" select-prompt ""'
zpty -w z "print 'ready''@@'"
zpty -r z out '*ready@@*'
zpty -n -w z "$1"$'\t'
zpty -r z out '*@@done@@*'
for l in ${(f)out}; do [[ $l == *'<<'*'>>'* ]] && print -r -- ${${l#*<<}%%>>*}; done
zpty -d z
