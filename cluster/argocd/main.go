// Command argocd runs Argo CD's own components, built from its published Go module and nothing else: one multicall
// binary, as Argo CD's own cmd/main.go is, limited to the parts a headless GitOps loop needs (application controller,
// repo server, ApplicationSet controller; no API server, UI, Dex or notifications). Each component is Argo CD's own
// cobra command, unchanged; this file only picks which one runs, from argv[0] (a symlink), ARGOCD_BINARY_NAME (as
// upstream) or the first argument.
package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	applicationset "github.com/argoproj/argo-cd/v3/cmd/argocd-applicationset-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

var components = map[string]func() *cobra.Command{
	"argocd-application-controller":    appcontroller.NewCommand,
	"argocd-repo-server":               reposerver.NewCommand,
	"argocd-applicationset-controller": applicationset.NewCommand,
}

func init() {
	// As upstream's cmd/main.go: klog (client-go's logger) goes through Argo CD's logrus configuration.
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	if _, ok := components[name]; !ok && len(os.Args) > 1 {
		// cobra reads os.Args[1:]: drop the component name so it sees the component's own flags.
		name, os.Args = os.Args[1], os.Args[1:]
	}
	newCommand, ok := components[name]
	if !ok {
		names := slices.Sorted(maps.Keys(components))
		fmt.Fprintf(os.Stderr, "usage: argocd {%s} [flags]\n", strings.Join(names, "|"))
		os.Exit(2)
	}
	if err := newCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
