// Command controlplane is the real Kubernetes control plane, built from upstream's own Go modules and nothing else:
// one multicall binary (as k3s does it) so etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kube-proxy link once and share packages. Each component is upstream's own cobra command or main, unchanged; this
// file only picks which one runs. The name comes from argv[0] (a symlink) or from the first argument.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	_ "time/tzdata" // CronJob time zones, as kube-apiserver's and kube-controller-manager's mains import it

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json, as upstream's mains register it
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream's mains register them
	_ "k8s.io/component-base/metrics/prometheus/version"  // the version metric, as upstream's mains register it
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args
	if !isComponent(name) && len(os.Args) > 1 {
		name, args = os.Args[1], os.Args[1:]
	}
	// cobra reads os.Args[1:], etcd reads the slice it is given: both see the component's own argv.
	os.Args = args
	switch name {
	case "etcd":
		etcdmain.Main(args)
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "kube-proxy":
		os.Exit(cli.Run(proxy.NewProxyCommand()))
	default:
		fmt.Fprintf(os.Stderr, "usage: controlplane {%s} [flags]\n", strings.Join(components, "|"))
		os.Exit(2)
	}
}

func isComponent(name string) bool {
	for _, c := range components {
		if c == name {
			return true
		}
	}
	return false
}
