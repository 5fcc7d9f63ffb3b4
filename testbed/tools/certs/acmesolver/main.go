// The testbed's HTTP-01 solver: the only file of the solver image that cert-manager starts for
// each challenge (testbed/parts/65-certs.sh builds it and pushes the image). cert-manager calls it
// with --listen-port, --domain, --token and --key; it answers GET
// /.well-known/acme-challenge/TOKEN for that domain with the key, and 404 for anything else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("listen-port", 8089, "the port to listen on")
	domain := flag.String("domain", "", "the domain name being validated")
	token := flag.String("token", "", "the challenge token")
	key := flag.String("key", "", "the key authorization to answer with")
	flag.Parse()
	if *domain == "" || *token == "" || *key == "" {
		fmt.Fprintln(os.Stderr, "acmesolver: --domain, --token and --key are required")
		os.Exit(2)
	}
	path := "/.well-known/acme-challenge/" + *token
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if r.URL.Path != path || host != *domain {
			log.Printf("acmesolver: 404 for host %q path %q", host, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		log.Printf("acmesolver: answered the challenge for %s", host)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(*key))
	})
	server := &http.Server{Addr: ":" + strconv.Itoa(*port), Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	log.Printf("acmesolver: serving %s for %s on :%d", path, *domain, *port)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("acmesolver: %v", err)
	}
}
