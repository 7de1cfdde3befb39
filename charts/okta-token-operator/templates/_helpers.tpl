{{/*
The chart's name, as resources are named: nameOverride or the chart name.
*/}}
{{- define "okta-token-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: fullnameOverride, the release name when it already contains
the chart's name, or "<release>-<name>". Truncated to 63 characters, the
limit of a DNS label.
*/}}
{{- define "okta-token-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "okta-token-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "okta-token-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: okta-token-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the operator's pods. They never change after install:
a Deployment's selector is immutable.
*/}}
{{- define "okta-token-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "okta-token-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Annotations on every resource: commonAnnotations. Callers add their own.
*/}}
{{- define "okta-token-operator.annotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount the operator runs as.
*/}}
{{- define "okta-token-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "okta-token-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository with the digest, or with the tag (default
the chart's appVersion).
*/}}
{{- define "okta-token-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The redirect URI registered with the Okta web app: callback.url, or
https://<callback.host>/callback.
*/}}
{{- define "okta-token-operator.callbackURL" -}}
{{- if .Values.callback.url }}
{{- .Values.callback.url }}
{{- else if .Values.callback.host }}
{{- printf "https://%s/callback" .Values.callback.host }}
{{- end }}
{{- end }}

{{/*
Whether the release serves sign-in callbacks: callback.host or callback.url
is set. Without either, only ClientCredentials tokens are served; an
AuthorizationCode resource says CallbackNotConfigured, and no callback
Service, Ingress or port is rendered.
*/}}
{{- define "okta-token-operator.callbackEnabled" -}}
{{- if or .Values.callback.url .Values.callback.host }}true{{ end }}
{{- end }}

{{/*
The host the Ingress answers: callback.host, or the host of callback.url.
*/}}
{{- define "okta-token-operator.callbackHost" -}}
{{- if .Values.callback.host }}
{{- .Values.callback.host }}
{{- else }}
{{- (urlParse (include "okta-token-operator.callbackURL" .)).hostname }}
{{- end }}
{{- end }}

{{/*
The path the Ingress publishes: the path of the callback URL.
*/}}
{{- define "okta-token-operator.callbackPath" -}}
{{- default "/callback" (urlParse (include "okta-token-operator.callbackURL" .)).path }}
{{- end }}

{{/*
The manager's rules, read from files/rbac/manager-role.yaml: a copy of
config/rbac/role.yaml, which controller-gen writes from the kubebuilder
markers (make manifests copies it). Every ClusterRole in that file
contributes its rules.
*/}}
{{- define "okta-token-operator.managerRules" -}}
{{- $rules := list }}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.Files.Get "files/rbac/manager-role.yaml") -1 }}
{{- $obj := fromYaml $doc }}
{{- if and $obj (eq (get $obj "kind") "ClusterRole") }}
{{- $rules = concat $rules (get $obj "rules") }}
{{- end }}
{{- end }}
{{- if not $rules }}
{{- fail "files/rbac/manager-role.yaml holds no ClusterRole rules: run make manifests" }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/*
The manager's rules on Secrets only: what it needs in its own namespace for
the state Secrets when it watches a list of namespaces.
*/}}
{{- define "okta-token-operator.stateSecretRules" -}}
{{- $rules := list }}
{{- range $rule := fromYamlArray (include "okta-token-operator.managerRules" .) }}
{{- if and (has "" $rule.apiGroups) (has "secrets" $rule.resources) }}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list "secrets") "verbs" $rule.verbs) }}
{{- end }}
{{- end }}
{{- toYaml $rules }}
{{- end }}
