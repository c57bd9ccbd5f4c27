// rdbench: Rancher's tunnel (github.com/rancher/remotedialer) wired the way Rancher uses it, so
// scripts/bench-tunnel.ts can carry the same HTTP body through it as through Ward's tunnel.
//
//	rdbench server -listen 127.0.0.1:0 -target 127.0.0.1:PORT
//	    /connect  the tunnel endpoint agents dial (WebSocket), like Rancher's /v3/connect
//	    /proxy/…  an HTTP reverse proxy whose transport dials through the tunnel (Rancher's cluster proxy)
//	rdbench client -server ws://HOST:PORT/connect   the agent side (cattle-cluster-agent's ClientConnect)
//	rdbench sink -listen 127.0.0.1:0                a local HTTP server that counts request bytes
//
//	rdbench kubeproxy -listen 127.0.0.1:0 -target 127.0.0.1:APIPORT -ca CA -tls-cert C -tls-key K \
//	        -upstream-token T -impersonate USER -front-token F
//	    Rancher's cluster proxy in front of a real kube-apiserver: HTTPS (HTTP/1.1, like Ward's
//	    gateway) on -listen; /connect is the tunnel endpoint; /k8s/… requires "Authorization: Bearer F",
//	    drops the client's Authorization and Impersonate-* headers, and goes through
//	    httputil.ReverseProxy over the tunnel to the API server (TLS verified with -ca) with the
//	    admin bearer token -upstream-token and "Impersonate-User: USER" — the identity Ward's agent
//	    impersonates. Upgrades (exec/attach/port-forward, SPDY and WebSocket) pass through.
//	rdbench client -server wss://HOST:PORT/connect -ca CA   the agent side over TLS
//
// Each listening mode prints "LISTEN <host:port>" once ready; the client prints "CONNECTING".
package main

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
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

	"github.com/gorilla/websocket"
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
	caFile := fs.String("ca", "", "CA bundle: verifies the API server (kubeproxy) or the tunnel endpoint (client)")
	tlsCert := fs.String("tls-cert", "", "serving certificate (kubeproxy)")
	tlsKey := fs.String("tls-key", "", "serving key (kubeproxy)")
	upstreamToken := fs.String("upstream-token", "", "bearer token toward the API server (kubeproxy)")
	impersonate := fs.String("impersonate", "", "Impersonate-User toward the API server (kubeproxy)")
	frontToken := fs.String("front-token", "", "bearer token clients must present (kubeproxy)")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "server":
		runServer(*listen, *target)
	case "kubeproxy":
		runKubeProxy(kubeProxyOptions{
			listen: *listen, target: *target, caFile: *caFile, cert: *tlsCert, key: *tlsKey,
			upstreamToken: *upstreamToken, impersonate: *impersonate, frontToken: *frontToken,
		})
	case "client":
		runClient(*server, *caFile)
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

type kubeProxyOptions struct {
	listen, target, caFile, cert, key, upstreamToken, impersonate, frontToken string
}

func runKubeProxy(o kubeProxyOptions) {
	if o.target == "" || o.caFile == "" || o.cert == "" || o.key == "" || o.upstreamToken == "" || o.impersonate == "" || o.frontToken == "" {
		fmt.Fprintln(os.Stderr, "kubeproxy needs -target, -ca, -tls-cert, -tls-key, -upstream-token, -impersonate and -front-token")
		os.Exit(2)
	}
	pool := loadPool(o.caFile)
	auth := func(req *http.Request) (string, bool, error) { return clientKey, true, nil }
	tunnel := remotedialer.New(auth, remotedialer.DefaultErrorWriter)
	dial := tunnel.Dialer(clientKey)
	transport := &http.Transport{
		DialContext:         func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) },
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // pass Accept-Encoding through as the client sent it, like Ward
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "https"
			r.Out.URL.Host = o.target
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/k8s")
			r.Out.URL.RawPath = ""
			r.Out.Host = o.target
			for name := range r.Out.Header {
				if strings.HasPrefix(strings.ToLower(name), "impersonate-") {
					r.Out.Header.Del(name)
				}
			}
			r.Out.Header.Set("Authorization", "Bearer "+o.upstreamToken)
			r.Out.Header.Set("Impersonate-User", o.impersonate)
		},
		Transport:     transport,
		FlushInterval: -1,
	}
	want := []byte("Bearer " + o.frontToken)
	k8s := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	mux := http.NewServeMux()
	mux.Handle("/connect", tunnel)
	mux.Handle("/k8s/", k8s)
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if !tunnel.HasSession(clientKey) {
			http.Error(w, "no agent", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// HTTP/1.1 only, like Ward's gateway (an empty TLSNextProto map turns HTTP/2 off).
	srv := &http.Server{Handler: mux, TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	if err := srv.ServeTLS(ln, o.cert, o.key); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func loadPool(file string) *x509.CertPool {
	pem, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintf(os.Stderr, "no certificates in %s\n", file)
		os.Exit(1)
	}
	return pool
}

func runClient(server, caFile string) {
	headers := http.Header{}
	allow := func(proto, address string) bool { return true }
	var dialer *websocket.Dialer
	if caFile != "" {
		dialer = &websocket.Dialer{HandshakeTimeout: remotedialer.HandshakeTimeOut, TLSClientConfig: &tls.Config{RootCAs: loadPool(caFile)}}
	}
	fmt.Println("CONNECTING")
	for {
		err := remotedialer.ClientConnect(context.Background(), server, headers, dialer, allow, nil)
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
