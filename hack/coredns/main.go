// Command coredns is cluster DNS for the node tier (tests/node): CoreDNS, pinned below, with
// only the plugins a cluster Corefile uses, registered the way CoreDNS's own coredns.go does
// (each plugin registers itself on import; core/dnsserver orders them). Leaving out the cloud
// back ends (route53, azure, clouddns, ...) keeps their SDKs out of go.sum and the build.
//
// `coredns -plugins` lists what is compiled in.
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver" // the "dns" server type
	"github.com/coredns/coredns/coremain"

	// kubeadm's default Corefile: errors, health, ready, kubernetes, prometheus, forward,
	// cache, loop, reload, loadbalance; plus log, and bind/hosts/whoami for tests.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics" // the "prometheus" directive
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func main() {
	coremain.Run()
}
