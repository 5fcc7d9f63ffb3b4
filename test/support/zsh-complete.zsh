# Completes one line in a real interactive zsh (under zsh/zpty), with compinit and the completion
# script $1 loaded: types $2 and a Tab, then prints what the terminal showed (test/unit/client-completion.test.ts).
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='> '; autoload -Uz compinit; compinit -u -D; source ${(q)1}; slipway() { :; }; print READY"
# Until the set-up ran (READY as typed, then as printed) and the prompt is up: keys typed before
# it would be lost.
zpty -r z out '*READY*READY*> *'
zpty -w -n z "$2"$'\t'$'\x15echo DONE\n'
# Until the echo ran (DONE as typed and as printed); keys are taken in order, so the Tab's
# completion was drawn before.
zpty -r z out '*DONE*DONE*'
print -r -- $out
zpty -d z
