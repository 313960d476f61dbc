{{/* Chart name, overridable. */}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>" unless the release name already contains the chart name; 63-char DNS limit. */}}
{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
"<fullname>-<suffix>", the fullname cut so the whole stays a 63-character DNS label.
Call with (dict "ctx" $ "suffix" "agent").
*/}}
{{- define "vigil.suffixedName" -}}
{{- $max := int (sub 62 (len .suffix)) -}}
{{- printf "%s-%s" (include "vigil.fullname" .ctx | trunc $max | trimSuffix "-") .suffix -}}
{{- end -}}

{{- define "vigil.agent.fullname" -}}
{{- include "vigil.suffixedName" (dict "ctx" . "suffix" "agent") -}}
{{- end -}}

{{- define "vigil.aggregator.fullname" -}}
{{- include "vigil.suffixedName" (dict "ctx" . "suffix" "aggregator") -}}
{{- end -}}

{{- define "vigil.configMapName" -}}
{{- include "vigil.suffixedName" (dict "ctx" . "suffix" "config") -}}
{{- end -}}

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every resource. */}}
{{- define "vigil.labels" -}}
helm.sh/chart: {{ include "vigil.chart" . }}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels; the component tells agent and aggregator apart. Call with (dict "ctx" $ "component" "agent"). */}}
{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "vigil.componentLabels" -}}
{{ include "vigil.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image both processes run; a digest pins it. */}}
{{- define "vigil.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "vigil.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (include "vigil.agent.fullname" .) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vigil.aggregator.serviceAccountName" -}}
{{- if .Values.aggregator.serviceAccount.create -}}
{{- default (include "vigil.aggregator.fullname" .) .Values.aggregator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.aggregator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* host:port agents dial; the namespace-qualified name works from any namespace without the cluster domain. */}}
{{- define "vigil.agent.aggregatorAddress" -}}
{{- if .Values.agent.aggregatorAddress -}}
{{- .Values.agent.aggregatorAddress -}}
{{- else -}}
{{- printf "%s.%s.svc:%d" (include "vigil.aggregator.fullname" .) .Release.Namespace (int .Values.aggregator.grpcPort) -}}
{{- end -}}
{{- end -}}

{{/*
A Kubernetes memory quantity in MiB (integer), or 0 when it is empty or in a unit we do not parse.
Accepts Ki/Mi/Gi/Ti, k/M/G/T and plain bytes.
*/}}
{{- define "vigil.memoryMiB" -}}
{{- $q := toString . -}}
{{- $mib := 0 -}}
{{- if regexMatch "^[0-9]+Ki$" $q -}}{{- $mib = div (trimSuffix "Ki" $q | atoi) 1024 -}}
{{- else if regexMatch "^[0-9]+Mi$" $q -}}{{- $mib = trimSuffix "Mi" $q | atoi -}}
{{- else if regexMatch "^[0-9]+Gi$" $q -}}{{- $mib = mul (trimSuffix "Gi" $q | atoi) 1024 -}}
{{- else if regexMatch "^[0-9]+Ti$" $q -}}{{- $mib = mul (trimSuffix "Ti" $q | atoi) 1048576 -}}
{{- else if regexMatch "^[0-9]+k$" $q -}}{{- $mib = div (mul (trimSuffix "k" $q | atoi) 1000) 1048576 -}}
{{- else if regexMatch "^[0-9]+M$" $q -}}{{- $mib = div (mul (trimSuffix "M" $q | atoi) 1000000) 1048576 -}}
{{- else if regexMatch "^[0-9]+G$" $q -}}{{- $mib = div (mul (trimSuffix "G" $q | atoi) 1000000000) 1048576 -}}
{{- else if regexMatch "^[0-9]+T$" $q -}}{{- $mib = div (mul (trimSuffix "T" $q | atoi) 1000000000000) 1048576 -}}
{{- else if regexMatch "^[0-9]+$" $q -}}{{- $mib = div ($q | atoi) 1048576 -}}
{{- end -}}
{{- $mib -}}
{{- end -}}

{{/*
NODE_OPTIONS env entry with the V8 heap flags: the old generation capped at a percentage of the memory limit (the
OTel chart's GOMEMLIMIT pattern: Node then collects garbage before the kernel OOM-kills it), and the young
generation capped at semiSpace MiB per semi-space. Renders nothing when neither applies (no parseable limit or
percent 0, and semiSpace 0 or unset). Call with (dict "resources" ... "percent" ... "semiSpace" ...).
*/}}
{{- define "vigil.heapEnv" -}}
{{- $limit := "" -}}
{{- if and .resources .resources.limits .resources.limits.memory -}}{{- $limit = .resources.limits.memory -}}{{- end -}}
{{- $mib := include "vigil.memoryMiB" $limit | atoi -}}
{{- $heap := div (mul $mib (int .percent)) 100 -}}
{{- $flags := list -}}
{{- if gt $heap 0 -}}{{- $flags = append $flags (printf "--max-old-space-size=%d" $heap) -}}{{- end -}}
{{- if gt (int .semiSpace) 0 -}}{{- $flags = append $flags (printf "--max-semi-space-size=%d" (int .semiSpace)) -}}{{- end -}}
{{- if $flags }}
- name: NODE_OPTIONS
  value: {{ join " " $flags | quote }}
{{- end -}}
{{- end -}}

{{/* Env vars for TLS; the Secret is mounted at /etc/vigil/tls. */}}
{{- define "vigil.tlsEnv" -}}
{{- if .Values.tls.enabled }}
- name: VIGIL_TLS_CA
  value: /etc/vigil/tls/ca.crt
- name: VIGIL_TLS_CERT
  value: /etc/vigil/tls/tls.crt
- name: VIGIL_TLS_KEY
  value: /etc/vigil/tls/tls.key
{{- end -}}
{{- end -}}

{{/* The Secret each component mounts when TLS is on: the chart-generated one, or the one the user names. */}}
{{- define "vigil.tls.aggregatorSecretName" -}}
{{- if .Values.tls.autoGenerate -}}
{{- include "vigil.suffixedName" (dict "ctx" . "suffix" "aggregator-tls") -}}
{{- else -}}
{{- required "tls.aggregatorSecretName is required when tls.enabled is true" .Values.tls.aggregatorSecretName -}}
{{- end -}}
{{- end -}}

{{- define "vigil.tls.agentSecretName" -}}
{{- if .Values.tls.autoGenerate -}}
{{- include "vigil.suffixedName" (dict "ctx" . "suffix" "agent-tls") -}}
{{- else -}}
{{- required "tls.agentSecretName is required when tls.enabled is true" .Values.tls.agentSecretName -}}
{{- end -}}
{{- end -}}

{{/* Rolls the pods when the rendered configuration changes. */}}
{{- define "vigil.configChecksum" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | sha256sum -}}
{{- end -}}
