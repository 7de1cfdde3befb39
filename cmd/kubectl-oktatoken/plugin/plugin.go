/*
Copyright 2026 The okta-token-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package plugin is the kubectl plugin for OktaScopedTokens (cmd/kubectl-oktatoken):
//
//	kubectl oktatoken status [NAME ...] [-n NS | -A]                what each token is waiting for, with sign-in links
//	kubectl oktatoken login NAME [-n NS] [--force] [--timeout 10m]  print the sign-in link (a new one with --force) and wait for the token
//	kubectl oktatoken renew NAME [-n NS] [--timeout 2m]             rotate the token now and wait for the new one
//
// It is built on k8s.io/cli-runtime like other kubectl plugins, so the
// standard kubectl flags mean what they mean to kubectl: --kubeconfig,
// --context, --cluster, --user, -n/--namespace, -s/--server, --token,
// --as, --as-group, --as-uid, --request-timeout, the TLS flags and the rest
// of genericclioptions.ConfigFlags. Run it in-process with [Run] or
// [Execute]; [NewCmdOktaToken] is its cobra command.
package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

// How long login and renew wait by default.
const (
	defaultLoginTimeout = 10 * time.Minute
	defaultRenewTimeout = 2 * time.Minute
)

// synopsis follows an unknown command's error.
const synopsis = `Usage:
  kubectl oktatoken status [NAME ...] [-n NAMESPACE | -A]
  kubectl oktatoken login NAME [-n NAMESPACE] [--force] [--timeout 10m]
  kubectl oktatoken renew NAME [-n NAMESPACE] [--timeout 2m]

Run 'kubectl oktatoken --help' for all the flags.`

// Run runs one plugin command in-process; args exclude the program name.
// out receives the output and any diagnostics (API warnings, help).
func Run(ctx context.Context, args []string, out io.Writer) error {
	return Execute(ctx, args, genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: out})
}

// Execute runs one plugin command on streams; args exclude the program
// name. It prints nothing of the error it returns: the caller does.
func Execute(ctx context.Context, args []string, streams genericiooptions.IOStreams) error {
	root := NewCmdOktaToken(streams)
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && cmd == root && strings.HasPrefix(err.Error(), "unknown command ") {
		// The root runs nothing itself, so cobra has not found a subcommand.
		return fmt.Errorf("%s\n\n%s", strings.TrimRight(err.Error(), "\n"), synopsis)
	}
	return err
}

// options is what every subcommand shares: the standard kubectl flags and
// the streams.
type options struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
}

// NewCmdOktaToken is the `kubectl oktatoken` command with its subcommands
// status, login and renew, writing to streams.
func NewCmdOktaToken(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{configFlags: genericclioptions.NewConfigFlags(true), IOStreams: streams}
	root := &cobra.Command{
		Use:         "oktatoken",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl oktatoken"},
		Short:       "Manage OktaScopedTokens",
		Long: `kubectl oktatoken manages OktaScopedTokens: it shows what each token is waiting
for, with sign-in links; it prints a token's sign-in link and waits while
someone signs in; and it rotates a token on demand.

The kubeconfig, context, namespace, impersonation and every other standard
kubectl flag work as they do with kubectl.`,
		Example: `  # What each token in the current namespace is waiting for, with sign-in links
  kubectl oktatoken status

  # The same across all namespaces, using another kubeconfig context
  kubectl oktatoken status -A --context staging

  # Print the sign-in link for logs-reader and wait for its token
  kubectl oktatoken login logs-reader -n monitoring

  # Rotate the token of logs-reader now and wait for the new one
  kubectl oktatoken renew logs-reader -n monitoring`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help' for usage.", err, c.CommandPath())
	})
	o.configFlags.AddFlags(root.PersistentFlags())
	root.AddCommand(newCmdStatus(o), newCmdLogin(o), newCmdRenew(o))
	return root
}

func newCmdStatus(o *options) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "status [NAME ...]",
		Short: "Show what each OktaScopedToken is waiting for, with sign-in links",
		Long: `Show the OktaScopedTokens of the namespace (all of them with -A, or only
those NAMEd): whether each is ready, why not, when its token expires and is
renewed, and how often it was rotated; then, for each that waits for a
sign-in, the link to sign in at, or else what it is waiting for.`,
		Example: `  kubectl oktatoken status
  kubectl oktatoken status logs-reader -n monitoring
  kubectl oktatoken status -A`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.connect()
			if err != nil {
				return err
			}
			return status(cmd.Context(), c, ns, all, args, o.Out)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false,
		"If present, list the OktaScopedTokens across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	return cmd
}

func newCmdLogin(o *options) *cobra.Command {
	var force bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "login NAME",
		Short: "Print the sign-in link of an OktaScopedToken and wait for the token",
		Long: `Print the sign-in link of the OktaScopedToken NAME and wait until someone has
signed in and the token is issued. A token that is already valid is left
alone unless --force asks for a new sign-in.`,
		Example: `  kubectl oktatoken login logs-reader -n monitoring
  kubectl oktatoken login logs-reader --force --timeout 30m`,
		Args: exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.connect()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return login(ctx, c, types.NamespacedName{Namespace: ns, Name: args[0]}, force, o.Out)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "Ask for a new sign-in even if a valid token exists")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultLoginTimeout, "How long to wait for the sign-in link and the token")
	return cmd
}

func newCmdRenew(o *options) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "renew NAME",
		Short: "Rotate the token of an OktaScopedToken now and wait for the new one",
		Long: `Ask the operator to rotate the token of the OktaScopedToken NAME now, and wait
for the new token.`,
		Example: `  kubectl oktatoken renew logs-reader -n monitoring`,
		Args:    exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.connect()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return renew(ctx, c, types.NamespacedName{Namespace: ns, Name: args[0]}, o.Out)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", defaultRenewTimeout, "How long to wait for the new token")
	return cmd
}

func exactlyOneName(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s needs exactly one OktaScopedToken name", cmd.Name())
	}
	return nil
}

// connect makes a client from the standard kubectl flags, and resolves the
// namespace: --namespace, else the kubeconfig context's, else "default".
func (o *options) connect() (client.Client, string, error) {
	cfg, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	// API warnings go to the error stream, as kubectl prints them.
	cfg.WarningHandler = rest.NewWarningWriter(o.ErrOut, rest.WarningWriterOptions{Deduplicate: true})
	// A scheme of its own: the process-wide one may be in use elsewhere.
	s := runtime.NewScheme()
	if err := v1.AddToScheme(s); err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	return c, ns, err
}

func ready(o *v1.OktaScopedToken) metav1.Condition {
	if c := meta.FindStatusCondition(o.Status.Conditions, v1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{Status: metav1.ConditionUnknown, Reason: "Pending"}
}

func status(ctx context.Context, c client.Client, ns string, all bool, names []string, out io.Writer) error {
	var list v1.OktaScopedTokenList
	opts := []client.ListOption{}
	if !all {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(ctx, &list, opts...); err != nil {
		return err
	}
	slices.SortFunc(list.Items, func(a, b v1.OktaScopedToken) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAMESPACE\tNAME\tREADY\tREASON\tEXPIRES\tRENEWAL\tROTATIONS")
	var links []string
	for i := range list.Items {
		o := &list.Items[i]
		if len(names) > 0 && !slices.Contains(names, o.Name) {
			continue
		}
		r := ready(o)
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", o.Namespace, o.Name, r.Status, r.Reason,
			timeOrDash(o.Status.ExpiresAt), timeOrDash(o.Status.RenewalTime), o.Status.Rotations)
		if o.Status.AuthorizationURL != "" {
			links = append(links, fmt.Sprintf("%s/%s: sign in at %s", o.Namespace, o.Name, o.Status.AuthorizationURL))
		} else if r.Status != metav1.ConditionTrue && r.Message != "" {
			links = append(links, fmt.Sprintf("%s/%s: %s", o.Namespace, o.Name, r.Message))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range links {
		_, _ = fmt.Fprintln(out, "\n"+l)
	}
	return nil
}

func login(ctx context.Context, c client.Client, key types.NamespacedName, force bool, out io.Writer) error {
	obj := &v1.OktaScopedToken{}
	if err := c.Get(ctx, key, obj); err != nil {
		return err
	}
	if obj.Spec.GrantType == v1.GrantClientCredentials {
		return fmt.Errorf("%s uses ClientCredentials: no sign-in is needed; use `renew` to mint a new token", key)
	}
	before := obj.Status.LastRotationTime
	if force {
		if err := annotate(ctx, c, obj, v1.AnnotationReauthorizeRequestedAt); err != nil {
			return err
		}
	}
	if obj.Status.AuthorizationURL == "" && !force && ready(obj).Status == metav1.ConditionTrue {
		_, _ = fmt.Fprintf(out, "%s already has a valid token (use --force to sign in again)\n", key)
		return nil
	}
	obj, err := waitFor(ctx, c, key, func(o *v1.OktaScopedToken) bool { return o.Status.AuthorizationURL != "" })
	if err != nil {
		return fmt.Errorf("waiting for the sign-in link: %w", err)
	}
	_, _ = fmt.Fprintf(out, "Open this link and sign in (valid until %s):\n\n  %s\n\nWaiting for the token ...\n",
		timeOrDash(obj.Status.AuthorizationExpiresAt), obj.Status.AuthorizationURL)
	obj, err = waitFor(ctx, c, key, func(o *v1.OktaScopedToken) bool {
		return ready(o).Status == metav1.ConditionTrue && o.Status.AuthorizationURL == "" &&
			o.Status.LastRotationTime != nil && (before == nil || o.Status.LastRotationTime.After(before.Time))
	})
	if err != nil {
		return fmt.Errorf("waiting for the token: %w", err)
	}
	_, _ = fmt.Fprintf(out, "Signed in as %s: token for %v issued, expires %s.\n",
		obj.Status.AuthorizedSubject, obj.Status.GrantedScopes, timeOrDash(obj.Status.ExpiresAt))
	return nil
}

func renew(ctx context.Context, c client.Client, key types.NamespacedName, out io.Writer) error {
	obj := &v1.OktaScopedToken{}
	if err := c.Get(ctx, key, obj); err != nil {
		return err
	}
	if ready(obj).Status != metav1.ConditionTrue && obj.Status.AuthorizationURL != "" {
		return fmt.Errorf("%s has no grant to renew yet: run `kubectl oktatoken login %s`", key, key.Name)
	}
	before, rotations := obj.Status.LastRotationTime, obj.Status.Rotations
	if err := annotate(ctx, c, obj, v1.AnnotationRenewRequestedAt); err != nil {
		return err
	}
	// A new token is counted; two within one second share an issue time.
	obj, err := waitFor(ctx, c, key, func(o *v1.OktaScopedToken) bool {
		return o.Status.LastRotationTime != nil &&
			(before == nil || o.Status.Rotations != rotations || o.Status.LastRotationTime.After(before.Time))
	})
	if err != nil {
		return fmt.Errorf("waiting for the new token: %w", err)
	}
	_, _ = fmt.Fprintf(out, "Renewed %s: new token expires %s, next renewal %s.\n", key,
		timeOrDash(obj.Status.ExpiresAt), timeOrDash(obj.Status.RenewalTime))
	return nil
}

// annotate sets a trigger annotation to a new, unique value.
func annotate(ctx context.Context, c client.Client, obj *v1.OktaScopedToken, key string) error {
	patch := client.MergeFrom(obj.DeepCopy())
	if obj.Annotations == nil {
		obj.Annotations = map[string]string{}
	}
	obj.Annotations[key] = metav1.Now().UTC().Format(time.RFC3339Nano)
	return c.Patch(ctx, obj, patch)
}

// waitFor polls every second: a plugin run by a person does not need a
// watch, and polling keeps the RBAC it needs to get.
func waitFor(ctx context.Context, c client.Client, key types.NamespacedName, cond func(*v1.OktaScopedToken) bool) (*v1.OktaScopedToken, error) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		obj := &v1.OktaScopedToken{}
		if err := c.Get(ctx, key, obj); err != nil {
			return nil, err
		}
		if cond(obj) {
			return obj, nil
		}
		if r := ready(obj); meta.IsStatusConditionTrue(obj.Status.Conditions, v1.ConditionStalled) {
			return nil, errors.New(r.Message)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func timeOrDash(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
