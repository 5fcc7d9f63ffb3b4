// Command coredns is the testbed's cluster DNS: CoreDNS (the DNS server k3s runs at 10.43.0.10)
// with only the plugins the testbed's Corefile uses, built as CoreDNS documents for embedding
// (select the directives, import the plugins, run coremain). A full CoreDNS build would also
// compile every cloud provider's SDK.
package main

import (
	"fmt"
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
)

// directives in CoreDNS's own execution order (core/dnsserver/zdirectives.go), limited to the
// plugins imported above.
var directives = []string{"bind", "ready", "health", "errors", "loadbalance", "cache", "kubernetes", "loop", "forward"}

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		fmt.Fprintln(os.Stderr, "coredns:", err)
		os.Exit(1)
	}
	coremain.Run()
}
