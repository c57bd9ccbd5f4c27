// rdbench: Rancher's tunnel (github.com/rancher/remotedialer) wired the way Rancher uses it, so
// scripts/bench-tunnel.ts can carry the same HTTP body through it as through Ward's tunnel.
//
//	rdbench server -listen 127.0.0.1:0 -target 127.0.0.1:PORT
//	    /connect  the tunnel endpoint agents dial (WebSocket), like Rancher's /v3/connect
//	    /proxy/…  an HTTP reverse proxy whose transport dials through the tunnel (Rancher's cluster proxy)
//	rdbench client -server ws://HOST:PORT/connect   the agent side (cattle-cluster-agent's ClientConnect)
//	rdbench sink -listen 127.0.0.1:0                a local HTTP server that counts request bytes
//
// Each listening mode prints "LISTEN <host:port>" once ready; the client prints "CONNECTED".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rancher/remotedialer"
	"github.com/sirupsen/logrus"
)

const clientKey = "bench"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rdbench server|client|sink [flags]")
		os.Exit(2)
	}
	logrus.SetLevel(logrus.WarnLevel)
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	target := fs.String("target", "", "address the agent side dials for /proxy requests")
	server := fs.String("server", "", "tunnel endpoint URL (client mode)")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "server":
		runServer(*listen, *target)
	case "client":
		runClient(*server)
	case "sink":
		serve(*listen, http.HandlerFunc(sink))
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

func runServer(listen, target string) {
	if target == "" {
		fmt.Fprintln(os.Stderr, "server needs -target")
		os.Exit(2)
	}
	auth := func(req *http.Request) (string, bool, error) { return clientKey, true, nil }
	tunnel := remotedialer.New(auth, remotedialer.DefaultErrorWriter)
	dial := tunnel.Dialer(clientKey)
	transport := &http.Transport{
		DialContext:         func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) },
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = target
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/proxy")
			r.Out.Host = target
		},
		Transport:     transport,
		FlushInterval: -1,
	}
	mux := http.NewServeMux()
	mux.Handle("/connect", tunnel)
	mux.Handle("/proxy/", proxy)
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if !tunnel.HasSession(clientKey) {
			http.Error(w, "no agent", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	serve(listen, mux)
}

func runClient(server string) {
	headers := http.Header{}
	allow := func(proto, address string) bool { return true }
	fmt.Println("CONNECTING")
	for {
		err := remotedialer.ClientConnect(context.Background(), server, headers, nil, allow, nil)
		if err != nil {
			logrus.WithError(err).Warn("tunnel client disconnected")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sink(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
}

func serve(listen string, h http.Handler) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
