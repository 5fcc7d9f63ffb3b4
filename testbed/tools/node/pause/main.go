// Command pause is the testbed's pod sandbox process: the first process of every pod, holding the
// pod's namespaces while the app containers come and go. Nothing can be pulled from a public
// registry here, so the sandbox image is built from this program (testbed/node/pause-image.sh).
//
// As PID 1 of a pod that shares its PID namespace it must also reap orphans: the kernel
// re-parents them to it, and unreaped they stay zombies. It exits 0 on SIGINT or SIGTERM (the
// runtime stops the sandbox that way) and ignores everything else.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("slipway-pause 1")
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "pause: warning: not running as PID 1")
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			reap()
		default:
			fmt.Fprintf(os.Stderr, "pause: shutting down on %v\n", sig)
			os.Exit(0)
		}
	}
}

// reap collects every child that has exited. Signals coalesce, so one SIGCHLD may stand for
// several exits: loop until no exited child is left.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
