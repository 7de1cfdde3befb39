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

package creds

// A person who may write OktaScopedTokens but not read Secrets points a
// resource at Secrets of their namespace: they must not get the operator
// to use a service-account token, a bootstrap token, an image-pull Secret
// or the operator's own Secret as an app credential, nor learn from the
// condition which Secrets and keys exist.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1 "github.com/okta-token-operator/okta-token-operator/api/v1alpha1"
)

const (
	namespace   = "team-a"
	secretName  = "okta-app"
	secretKey   = "credential"
	secretValue = "a-value-nobody-may-see-0123456789"
)

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// webToken references secretName/secretKey as a web app's client secret;
// serviceToken as a service app's private key.
func webToken() *v1.OktaScopedToken {
	return &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: namespace},
		Spec: v1.OktaScopedTokenSpec{OktaDomain: "https://dev-123456.okta.com", ClientID: "0oaweb", GrantType: v1.GrantAuthorizationCode,
			Scopes: []string{"okta.logs.read"}, ClientSecretRef: &v1.SecretKeyReference{Name: secretName, Key: secretKey}},
	}
}

func serviceToken() *v1.OktaScopedToken {
	return &v1.OktaScopedToken{
		ObjectMeta: metav1.ObjectMeta{Name: "logs-reader", Namespace: namespace},
		Spec: v1.OktaScopedTokenSpec{OktaDomain: "https://dev-123456.okta.com", ClientID: "0oaservice", GrantType: v1.GrantClientCredentials,
			Scopes: []string{"okta.logs.read"}, PrivateKeyRef: &v1.PrivateKeyReference{
				SecretKeyReference: v1.SecretKeyReference{Name: secretName, Key: secretKey}}},
	}
}

// secret is the referenced Secret with the given type, labels and data.
func secret(typ corev1.SecretType, labels map[string]string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: namespace, Labels: labels}, Type: typ,
		Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func loadWith(t *testing.T, obj *v1.OktaScopedToken, p Policy, objects ...client.Object) (Credentials, error) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(objects...).Build()
	return Load(context.Background(), c, obj, p)
}

func TestLoadRefusesWithOneMessage(t *testing.T) {
	withKey := map[string]string{secretKey: secretValue}
	managed := map[string]string{v1.LabelManagedBy: v1.ManagedByValue}
	tests := map[string]struct {
		policy  Policy
		objects []client.Object
	}{
		"no such Secret": {},
		"the Secret in another namespace": {objects: []client.Object{func() client.Object {
			s := secret(corev1.SecretTypeOpaque, nil, withKey)
			s.Namespace = "team-b"
			return s
		}()}},
		"no such key":                             {objects: []client.Object{secret(corev1.SecretTypeOpaque, nil, map[string]string{"other": secretValue})}},
		"an empty key":                            {objects: []client.Object{secret(corev1.SecretTypeOpaque, nil, map[string]string{secretKey: ""})}},
		"a Secret with no data":                   {objects: []client.Object{secret(corev1.SecretTypeOpaque, nil, nil)}},
		"a service-account token":                 {objects: []client.Object{secret(corev1.SecretTypeServiceAccountToken, nil, withKey)}},
		"a bootstrap token":                       {objects: []client.Object{secret(corev1.SecretTypeBootstrapToken, nil, withKey)}},
		"an image-pull Secret (dockerconfigjson)": {objects: []client.Object{secret(corev1.SecretTypeDockerConfigJson, nil, withKey)}},
		"an image-pull Secret (dockercfg)":        {objects: []client.Object{secret(corev1.SecretTypeDockercfg, nil, withKey)}},
		"the operator's own Secret":               {objects: []client.Object{secret(corev1.SecretTypeOpaque, managed, withKey)}},
		"the operator's own Secret, any type":     {objects: []client.Object{secret(corev1.SecretTypeTLS, managed, withKey)}},
	}
	for _, grant := range []struct {
		name string
		obj  func() *v1.OktaScopedToken
		// how is the hint's way to create the Secret: a PEM key from its
		// file, a client secret as a literal.
		how string
	}{{"AuthorizationCode", webToken, "--from-literal=" + secretKey + "=..."},
		{"ClientCredentials", serviceToken, "--from-file=" + secretKey + "=key.pem"}} {
		t.Run(grant.name, func(t *testing.T) {
			// The message of a Secret that does not exist at all: every
			// other refusal must read the same, byte for byte.
			_, missing := loadWith(t, grant.obj(), Policy{})
			var want *Error
			if !errors.As(missing, &want) {
				t.Fatalf("no Secret: %T %v, want *Error", missing, missing)
			}
			for _, s := range []string{namespace + "/" + secretName, `"` + secretKey + `"`,
				"kubectl -n " + namespace + " create secret generic " + secretName + " " + grant.how} {
				if !strings.Contains(want.Message, s) {
					t.Errorf("the message %q does not name %s", want.Message, s)
				}
			}
			for name, tc := range tests {
				t.Run(name, func(t *testing.T) {
					got, err := loadWith(t, grant.obj(), tc.policy, tc.objects...)
					var ce *Error
					if !errors.As(err, &ce) {
						t.Fatalf("loaded %+v, err %v: want a refusal", got, err)
					}
					if ce.Reason != v1.ReasonSecretNotUsable {
						t.Errorf("reason %s, want %s", ce.Reason, v1.ReasonSecretNotUsable)
					}
					if ce.Message != want.Message {
						t.Errorf("message\n  %q\nwant the one a missing Secret gets\n  %q", ce.Message, want.Message)
					}
					if strings.Contains(ce.Message, secretValue) {
						t.Errorf("the message carries the Secret's value")
					}
				})
			}
		})
	}
}

func TestLoadRequireLabel(t *testing.T) {
	withKey := map[string]string{secretKey: secretValue}
	label := func(v string) map[string]string { return map[string]string{v1.LabelAllowReference: v} }
	_, missing := loadWith(t, webToken(), Policy{RequireLabel: true})
	var want *Error
	if !errors.As(missing, &want) {
		t.Fatalf("no Secret: %v", missing)
	}
	if !strings.Contains(want.Message, "this operator reads only Secrets labelled oktatoken.dev/allow-reference=true") {
		t.Fatalf("the message %q does not say which label is needed", want.Message)
	}
	tests := map[string]struct {
		policy Policy
		secret *corev1.Secret
		usable bool
	}{
		"labelled":                              {policy: Policy{RequireLabel: true}, secret: secret(corev1.SecretTypeOpaque, label("true"), withKey), usable: true},
		"not labelled":                          {policy: Policy{RequireLabel: true}, secret: secret(corev1.SecretTypeOpaque, nil, withKey)},
		"labelled false":                        {policy: Policy{RequireLabel: true}, secret: secret(corev1.SecretTypeOpaque, label("false"), withKey)},
		"labelled True":                         {policy: Policy{RequireLabel: true}, secret: secret(corev1.SecretTypeOpaque, label("True"), withKey)},
		"labelled, but a service-account token": {policy: Policy{RequireLabel: true}, secret: secret(corev1.SecretTypeServiceAccountToken, label("true"), withKey)},
		"labelled, but the operator's own": {policy: Policy{RequireLabel: true}, secret: secret(corev1.SecretTypeOpaque,
			map[string]string{v1.LabelAllowReference: "true", v1.LabelManagedBy: v1.ManagedByValue}, withKey)},
		"labelled, but no such key":        {policy: Policy{RequireLabel: true}, secret: secret(corev1.SecretTypeOpaque, label("true"), nil)},
		"not labelled, label not required": {policy: Policy{}, secret: secret(corev1.SecretTypeOpaque, nil, withKey), usable: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := loadWith(t, webToken(), tc.policy, tc.secret)
			if tc.usable {
				if err != nil {
					t.Fatal(err)
				}
				if got.App == nil || got.App.Secret != secretValue || got.App.ID != "0oaweb" {
					t.Fatalf("credentials %+v", got.App)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Message != want.Message {
				t.Fatalf("err %v, want the one message %q", err, want.Message)
			}
		})
	}
}

func TestLoadReadsWhatItMay(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	t.Run("a web app's client secret", func(t *testing.T) {
		s := secret(corev1.SecretTypeOpaque, nil, map[string]string{secretKey: secretValue})
		got, err := loadWith(t, webToken(), Policy{}, s)
		if err != nil {
			t.Fatal(err)
		}
		if got.App == nil || got.App.ID != "0oaweb" || got.App.Secret != secretValue || got.Key != nil {
			t.Fatalf("credentials %+v", got)
		}
		if got.Version == "" {
			t.Fatal("no resourceVersion: a changed Secret would go unnoticed")
		}
	})
	t.Run("a service app's private key, in a basic-auth Secret", func(t *testing.T) {
		s := secret(corev1.SecretTypeBasicAuth, nil, map[string]string{secretKey: keyPEM})
		got, err := loadWith(t, serviceToken(), Policy{}, s)
		if err != nil {
			t.Fatal(err)
		}
		if got.Key == nil || got.App != nil {
			t.Fatalf("credentials %+v", got)
		}
	})
	t.Run("a private key that does not parse", func(t *testing.T) {
		s := secret(corev1.SecretTypeOpaque, nil, map[string]string{secretKey: secretValue})
		_, err := loadWith(t, serviceToken(), Policy{}, s)
		var ce *Error
		if !errors.As(err, &ce) || ce.Reason != v1.ReasonInvalidPrivateKey {
			t.Fatalf("err %v, want reason %s", err, v1.ReasonInvalidPrivateKey)
		}
		if strings.Contains(ce.Message, secretValue) {
			t.Fatalf("the message %q carries the Secret's value", ce.Message)
		}
	})
	t.Run("the API server refuses the read", func(t *testing.T) {
		c := fake.NewClientBuilder().WithScheme(newScheme(t)).WithInterceptorFuncs(interceptor.Funcs{
			Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
				return apierrors.NewForbidden(corev1.Resource("secrets"), secretName, errors.New("RBAC"))
			},
		}).Build()
		_, err := Load(context.Background(), c, webToken(), Policy{})
		if _, ok := errors.AsType[*Error](err); ok {
			t.Fatalf("a refused read is an API error to retry, not a credential problem: %v", err)
		}
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "reading Secret "+namespace+"/"+secretName) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no reference for the grant", func(t *testing.T) {
		obj := webToken()
		obj.Spec.ClientSecretRef = nil
		_, err := loadWith(t, obj, Policy{})
		var ce *Error
		if !errors.As(err, &ce) || ce.Reason != v1.ReasonInvalidSpec {
			t.Fatalf("err %v, want reason %s", err, v1.ReasonInvalidSpec)
		}
	})
}
