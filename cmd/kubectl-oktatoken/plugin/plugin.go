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
//	kubectl oktatoken status [NAME] [-n NS | -A]   what each token is waiting for, with sign-in links
//	kubectl oktatoken login NAME [--force]        print the sign-in link (a new one with --force) and wait for the token
//	kubectl oktatoken renew NAME                  rotate the token now and wait for the new one
package plugin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

const usage = `kubectl oktatoken manages OktaScopedTokens.

Usage:
  kubectl oktatoken status [NAME] [-n NAMESPACE | -A]
  kubectl oktatoken login NAME [-n NAMESPACE] [--force] [--timeout 10m]
  kubectl oktatoken renew NAME [-n NAMESPACE] [--timeout 2m]

Flags:
  --kubeconfig PATH   kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)
  -n, --namespace NS  namespace (default: the kubeconfig context's)
`

type options struct {
	kubeconfig, namespace string
	allNamespaces, force  bool
	timeout               time.Duration
}

// Run runs one plugin command; args exclude the program name.
func Run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		_, _ = fmt.Fprint(out, usage)
		return nil
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	var o options
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&o.namespace, "namespace", "", "namespace")
	fs.StringVar(&o.namespace, "n", "", "namespace")
	fs.BoolVar(&o.allNamespaces, "all-namespaces", false, "all namespaces")
	fs.BoolVar(&o.allNamespaces, "A", false, "all namespaces")
	fs.BoolVar(&o.force, "force", false, "login: ask for a new sign-in even if a token exists")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long to wait")
	// Flags may follow the name, as with kubectl.
	var positional []string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			positional = append(positional, rest[0])
			rest = rest[1:]
		}
	}
	c, ns, err := connect(o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	switch cmd {
	case "status":
		return status(ctx, c, ns, o.allNamespaces, positional, out)
	case "login", "renew":
		if len(positional) != 1 {
			return fmt.Errorf("%s needs exactly one OktaScopedToken name", cmd)
		}
		key := types.NamespacedName{Namespace: ns, Name: positional[0]}
		if cmd == "login" {
			return login(ctx, c, key, o.force, out)
		}
		return renew(ctx, c, key, out)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

func connect(o options) (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.kubeconfig != "" {
		rules.ExplicitPath = o.kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	ns := o.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", err
		}
	}
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
