{{/*
The chart name, truncated to the 63 characters a label value may have.
*/}}
{{- define "vault-intermediate-issuer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources: the release name when it already
contains the chart name, <release>-<chart> otherwise.
*/}}
{{- define "vault-intermediate-issuer.fullname" -}}
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

{{- define "vault-intermediate-issuer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels that select the controller pods; never change them on upgrade, a
Deployment's selector is immutable.
*/}}
{{- define "vault-intermediate-issuer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vault-intermediate-issuer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vault-intermediate-issuer.labels" -}}
{{ include "vault-intermediate-issuer.selectorLabels" . }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: cert-manager
app.kubernetes.io/version: {{ include "vault-intermediate-issuer.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "vault-intermediate-issuer.chart" . }}
{{- end }}

{{- define "vault-intermediate-issuer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vault-intermediate-issuer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "vault-intermediate-issuer.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "vault-intermediate-issuer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "vault-intermediate-issuer.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Leader election runs whenever more than one replica could sign at once.
*/}}
{{- define "vault-intermediate-issuer.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
The namespace of the Secrets issuers name: the issuer's own, the release
namespace unless clusterResourceNamespace says otherwise.
*/}}
{{- define "vault-intermediate-issuer.clusterResourceNamespace" -}}
{{- default .Release.Namespace .Values.clusterResourceNamespace }}
{{- end }}

{{- define "vault-intermediate-issuer.leaderElectionNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/*
The signer names of Kubernetes CertificateSigningRequests for every
VaultIntermediateClusterIssuer: the resourceNames of the sign and approve
rules.
*/}}
{{- define "vault-intermediate-issuer.signerNames" -}}
- vaultintermediateclusterissuers.pki.golemtrust.am/*
{{- end }}
