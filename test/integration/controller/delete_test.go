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

package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
	"github.com/okta-token-operator/okta-token-operator/dev/oktadev"
)

// TestDeleteWhileOktaIsUnreachable: revoking the refresh token fails, the
// operator tries a bounded number of times, then lets the resource go with
// a Warning event; the state Secret is removed all the same.
func TestDeleteWhileOktaIsUnreachable(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, fixtureOptions{})
	obj := f.newWebToken()
	status, page, err := oktadev.SignIn(waitForAuthorizationURL(t, obj), userName, userPassword, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(200), page)
	waitForReady(t, obj)
	st := stateSecret(g, obj)

	f.stopDevServer()
	g.Expect(env.Client.Delete(context.Background(), get(g, obj))).To(Succeed())
	// The attempts are a few seconds apart on the operator's clock.
	f.stepUntil(2*time.Second, func(g Gomega) {
		g.Expect(apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj),
			&v1.OktaScopedToken{}))).To(BeTrue(), "deletion does not hang on an unreachable Okta")
	})
	g.Expect(apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(st), &corev1.Secret{}))).
		To(BeTrue(), "the state Secret is deleted")
	g.Eventually(func(g Gomega) []string { return eventReasons(g, obj) }).Should(ContainElement("RevocationFailed"))
}
