// Command etcd is etcd's own server main, built from the Go module proxy.
// go.etcd.io/etcd/v3 (the repository root that holds etcd's main) replaces its sibling modules with
// local paths, so `go install` cannot build it; this wrapper calls the same entry point instead.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
