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

package install

import (
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/charts"
)

// shardToken is one OktaScopedToken of the shard test, with the manager
// that owns it at the moment.
type shardToken struct {
	*lifecycle
	// callbackURL is the owning manager's redirect URI: the sign-in link
	// it publishes carries it, so the link tells which manager wrote it.
	callbackURL string
}

// named makes the lifecycle's OktaScopedToken another one, in the shard
// that labels give it (nil: the default shard).
func named(name string, labels map[string]string) func(*v1.OktaScopedToken) {
	return func(o *v1.OktaScopedToken) {
		o.Name = name
		o.Spec.SecretName = name + "-token"
		o.Labels = labels
	}
}

// TestShardsSplitTheTokens runs two releases of the chart in one namespace,
// as docs/deploy.md describes a cluster split by shard: one with
// shard=a, one without. Each has its own ServiceAccount, its own Lease and
// its own callback, and each manages only its shard's OktaScopedTokens
// through sign-in, rotation and drift repair. Relabelling a resource hands
// it, with its grant, to the other release: no new sign-in, and the new
// owner revokes the grant when the resource is deleted.
func TestShardsSplitTheTokens(t *testing.T) {
	g := NewWithT(t)
	// Both releases share the namespace, and with it the state Secrets,
	// which is what lets a relabelled resource keep its grant.
	namespace := "shards-" + rand.String(5)
	defaultListener, defaultCallback := callbackListener(t)
	shardListener, shardCallback := callbackListener(t)
	defaultRelease := apply(t, renderChart(t, charts.Release{Name: "tokens", Namespace: namespace,
		Values: chartValues(defaultCallback)}))
	shardValues := chartValues(shardCallback)
	shardValues["shard"] = "a"
	// One release owns the CRD; a second one would fight over it.
	shardValues["crds"] = map[string]any{"enabled": false}
	shardRelease := apply(t, renderChart(t, charts.Release{Name: "tokens-shard-a", Namespace: namespace, Values: shardValues}))
	g.Expect(charts.OfKind(shardRelease.objects, "CustomResourceDefinition")).To(BeEmpty())
	g.Expect(shardRelease.serviceAccount).NotTo(Equal(defaultRelease.serviceAccount))

	defaultOp := defaultRelease.start(t, defaultListener, false)
	shardOp := shardRelease.start(t, shardListener, false)
	g.Expect(defaultOp.flags.Shard).To(BeEmpty())
	g.Expect(shardOp.flags.Shard).To(Equal("a"))
	g.Expect(shardOp.flags.LeaderElectionID).NotTo(Equal(defaultOp.flags.LeaderElectionID), "a Lease per release")
	g.Expect(shardOp.flags.StateNamespace).To(Equal(defaultOp.flags.StateNamespace))

	// Each token has a dev server of its own, so that each server's count
	// of grants is one token's. Both know both callbacks: a link with the
	// wrong one would be accepted, and only the redirect URI it carries
	// shows which manager wrote it.
	tenant := newNamespace(t)
	inShard := &shardToken{callbackURL: shardCallback, lifecycle: &lifecycle{
		operator: shardOp, srv: devServer(t, defaultCallback, shardCallback), namespace: tenant, timeout: stepTimeout,
		mutate: named("reader-a", map[string]string{v1.LabelShard: "a"}),
	}}
	unlabelled := &shardToken{callbackURL: defaultCallback, lifecycle: &lifecycle{
		operator: defaultOp, srv: devServer(t, defaultCallback, shardCallback), namespace: tenant, timeout: stepTimeout,
		mutate: named("reader-default", nil),
	}}
	tokens := []*shardToken{inShard, unlabelled}

	for _, tok := range tokens {
		tok.apply(g)
	}
	for _, tok := range tokens {
		tok.expectLinkFrom(g)
		tok.signIn(g)
		tok.rotate(g)
		tok.repairDrift(g)
	}
	// Each manager announced the sign-in of its own token, and never
	// touched the other: by now, a manager that watched both would have.
	for _, tok := range tokens {
		other := otherOf(tokens, tok)
		g.Expect(mentions(tok.operator.log(), tok.obj)).To(BeTrue(), "the release of shard %q logs its token", tok.operator.flags.Shard)
		g.Expect(mentions(tok.operator.log(), other.obj)).To(BeFalse(),
			"the release of shard %q logs the other shard's token:\n%s", tok.operator.flags.Shard, tail(tok.operator.log(), 4000))
	}

	// Swap the shards: the token in shard a loses its label, the other
	// gains it. Each release takes over a grant it did not sign in for,
	// from the state Secrets the releases share: it repairs the token
	// Secret from it, without a new sign-in, and revokes the grant on
	// delete.
	logFrom := map[*runningOperator]int{defaultOp: defaultOp.logs.Len(), shardOp: shardOp.logs.Len()}
	relabel(g, inShard, nil, defaultOp, defaultCallback)
	relabel(g, unlabelled, map[string]string{v1.LabelShard: "a"}, shardOp, shardCallback)
	for _, tok := range tokens {
		tok.repairDrift(g)
		g.Expect(tok.current(g).Status.AuthorizationURL).To(BeEmpty(), "the grant went along: no new sign-in for %s", tok.obj.Name)
	}
	for _, tok := range tokens {
		tok.deleteAndRevoke(g)
	}
	for _, tok := range tokens {
		other := otherOf(tokens, tok)
		g.Expect(mentions(tok.operator.logs.From(logFrom[tok.operator]), tok.obj)).To(BeTrue(),
			"the new owner of %s logs its revocation", tok.obj.Name)
		g.Expect(mentions(other.operator.logs.From(logFrom[other.operator]), tok.obj)).To(BeFalse(),
			"the former owner let %s go", tok.obj.Name)
	}
	for _, tok := range tokens {
		tok.leaderRenewsItsLease(g)
	}
}

// expectLinkFrom waits for the sign-in link and checks that its owning
// manager published it: the redirect URI is that manager's callback.
func (tok *shardToken) expectLinkFrom(g Gomega) {
	g.Eventually(func(g Gomega) {
		link := tok.current(g).Status.AuthorizationURL
		g.Expect(link).NotTo(BeEmpty())
		u, err := url.Parse(link)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(u.Query().Get("redirect_uri")).To(Equal(tok.callbackURL), "the link of %s", tok.obj.Name)
	}).WithTimeout(tok.timeout).Should(Succeed())
}

// relabel moves a token to another shard and to the release that serves
// it; the grant in the shared state namespace stays where it is.
func relabel(g Gomega, tok *shardToken, labels map[string]string, to *runningOperator, callbackURL string) {
	g.Eventually(func(g Gomega) {
		cur := tok.current(g)
		cur.Labels = labels
		g.Expect(env.Client.Update(tok.ctx(), cur)).To(Succeed())
	}).WithTimeout(tok.timeout).Should(Succeed())
	tok.operator, tok.callbackURL = to, callbackURL
}

func otherOf(tokens []*shardToken, tok *shardToken) *shardToken {
	for _, o := range tokens {
		if o != tok {
			return o
		}
	}
	return nil
}

// mentions tells whether a manager's log names an OktaScopedToken: as an
// Event it logged or the callback names it (namespace/name), or in the
// context of a reconcile that logged anything (controller-runtime's
// {"name":...,"namespace":...}).
func mentions(log string, obj client.Object) bool {
	key := client.ObjectKeyFromObject(obj)
	return strings.Contains(log, key.String()) ||
		strings.Contains(log, `{"name":"`+key.Name+`","namespace":"`+key.Namespace+`"}`)
}
