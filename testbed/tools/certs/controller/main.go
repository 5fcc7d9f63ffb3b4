// The testbed's cert-manager controller: cert-manager's own control loops (the Go packages of the
// version pinned in ../go.mod) started by a small main of ours, because the proxy does not serve
// the module that holds upstream's main package. It runs what HTTP-01 certificates from an ACME
// ClusterIssuer need and nothing else: issuers, certificates, certificate requests for ACME and
// their approval, orders and challenges. No leader election (one controller), no webhook, no
// ingress-shim (Slipway writes Certificate objects itself). testbed/parts/65-certs.sh runs it:
//
//	cert-manager --kubeconfig FILE --solver-image IMAGE --solver-nameserver HOST:PORT \
//	  --check-retry-period 2s --healthz 127.0.0.1:9403
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/cert-manager/cert-manager/pkg/controller"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The control loops to run, by their registered names.
var loops = []string{
	"issuers", "clusterissuers",
	"certificates-trigger", "certificates-issuing", "certificates-key-manager", "certificates-readiness",
	"certificates-request-manager", "certificates-revision-manager",
	"certificaterequests-issuer-acme", "certificaterequests-approver",
	"orders", "challenges",
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the kubeconfig file to reach the cluster with")
	solverImage := flag.String("solver-image", "", "the image of the HTTP-01 solver pods")
	nameserver := flag.String("solver-nameserver", "", "the DNS server (HOST:PORT) for the HTTP-01 self-check")
	retry := flag.Duration("check-retry-period", 10*time.Second, "the wait between self-checks of a challenge")
	resourceNS := flag.String("cluster-resource-namespace", "cert-manager", "where ClusterIssuers keep their account keys")
	healthz := flag.String("healthz", "127.0.0.1:9403", "where GET /livez answers ok")
	workers := flag.Int("workers", 5, "workers per control loop")
	flag.Parse()
	if *kubeconfig == "" || *solverImage == "" {
		fmt.Fprintln(os.Stderr, "cert-manager: --kubeconfig and --solver-image are required")
		os.Exit(2)
	}

	logf.InitLogs()
	defer logf.FlushLogs()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "cert-manager")

	var nameservers []string
	if *nameserver != "" {
		nameservers = []string{*nameserver}
	}
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: *resourceNS},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 *solverImage,
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			HTTP01SolverNameservers:           nameservers,
			DNS01Nameservers:                  nameservers,
			DNS01CheckRetryPeriod:             *retry,
		},
		CertificateOptions: controller.CertificateOptions{EnableOwnerRef: true, CertificateRequestMinimumBackoffDuration: time.Hour},
		SchedulerOptions:   controller.SchedulerOptions{MaxConcurrentChallenges: 20},
	})
	if err != nil {
		fail("could not reach the cluster", err)
	}

	known := controller.Known()
	var wg sync.WaitGroup
	errs := make(chan error, len(loops))
	for _, name := range loops {
		constructor, ok := known[name]
		if !ok {
			fail("no control loop is registered as "+name+"; registered: "+fmt.Sprint(names(known)), nil)
		}
		loop, err := constructor(factory)
		if err != nil {
			fail("could not set up "+name, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := loop.Run(*workers, ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	// The informer factories are shared by every Context the factory builds: start them once, after
	// the loops have registered what they watch.
	shared, err := factory.Build()
	if err != nil {
		fail("could not build the controller context", err)
	}
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	listener, err := net.Listen("tcp", *healthz)
	if err != nil {
		fail("could not listen on "+*healthz, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = server.Serve(listener) }()
	logf.Log.Info("cert-manager control loops started", "loops", loops)

	select {
	case err := <-errs:
		fail("a control loop stopped", err)
	case <-ctx.Done():
	}
	_ = server.Close()
	wg.Wait()
}

func names(known map[string]controller.Constructor) []string {
	out := make([]string, 0, len(known))
	for name := range known {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func fail(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager: %s: %v\n", what, err)
	} else {
		fmt.Fprintf(os.Stderr, "cert-manager: %s\n", what)
	}
	os.Exit(1)
}
