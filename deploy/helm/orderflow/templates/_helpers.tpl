{{/* Names and labels. */}}
{{- define "orderflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orderflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "orderflow.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "orderflow.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "orderflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "orderflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "orderflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orderflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "ctx" $ "component" "worker"). */}}
{{- define "orderflow.componentSelector" -}}
{{ include "orderflow.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "orderflow.componentLabels" -}}
{{ include "orderflow.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "orderflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "orderflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "orderflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
The configuration file: .Values.config with the listen addresses the pods'
ports need. A development credential here would be refused at start anyway.
*/}}
{{- define "orderflow.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- if hasKey $cfg "dev_mode" -}}
{{- fail "config.dev_mode: development mode is for config/dev.yaml on a development machine, never a deployment" -}}
{{- end -}}
{{- $http := merge (dict "listen" (printf "0.0.0.0:%v" .Values.ports.http)) (get $cfg "http" | default dict) -}}
{{- $worker := merge (dict "metrics_listen" (printf "0.0.0.0:%v" .Values.ports.metrics)) (get $cfg "worker" | default dict) -}}
{{- $_ := set $cfg "http" $http -}}
{{- $_ = set $cfg "worker" $worker -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Where the Secrets' files are mounted. */}}
{{- define "orderflow.temporalCADir" -}}/etc/orderflow/temporal/ca{{- end -}}
{{- define "orderflow.temporalClientDir" -}}/etc/orderflow/temporal/client{{- end -}}
{{- define "orderflow.temporalAPIKeyDir" -}}/etc/orderflow/temporal/api-key{{- end -}}

{{/*
The environment of every orderflow container: the config file's path, the
Temporal connection's files, the credentials from Secrets and extraEnv.
Every ORDERFLOW_* name is a configuration key (the processes refuse others).
*/}}
{{- define "orderflow.env" -}}
- name: ORDERFLOW_CONFIG
  value: /etc/orderflow/config/orderflow.yaml
{{- $t := .Values.temporal }}
{{- if $t.tls.enabled }}
- name: ORDERFLOW_TEMPORAL_TLS_ENABLED
  value: "true"
{{- end }}
{{- with $t.tls.serverName }}
- name: ORDERFLOW_TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if $t.tls.ca.existingSecret }}
- name: ORDERFLOW_TEMPORAL_TLS_CA_FILE
  value: {{ printf "%s/%s" (include "orderflow.temporalCADir" .) $t.tls.ca.key | quote }}
{{- end }}
{{- if $t.tls.clientCert.existingSecret }}
- name: ORDERFLOW_TEMPORAL_TLS_CERT_FILE
  value: {{ printf "%s/%s" (include "orderflow.temporalClientDir" .) $t.tls.clientCert.certKey | quote }}
- name: ORDERFLOW_TEMPORAL_TLS_KEY_FILE
  value: {{ printf "%s/%s" (include "orderflow.temporalClientDir" .) $t.tls.clientCert.keyKey | quote }}
{{- end }}
{{- if $t.apiKey.existingSecret }}
- name: ORDERFLOW_TEMPORAL_API_KEY_FILE
  value: {{ printf "%s/%s" (include "orderflow.temporalAPIKeyDir" .) $t.apiKey.key | quote }}
{{- end }}
{{- range $name, $ref := .Values.secrets.env }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secret | default $.Values.secrets.existingSecret | required "secrets.existingSecret: name the Secret that holds orderflow's credentials" }}
      key: {{ $ref.key }}
      {{- if $ref.optional }}
      optional: true
      {{- end }}
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Volumes of every orderflow pod: the config file and the Temporal Secrets. */}}
{{- define "orderflow.volumes" -}}
- name: config
  configMap:
    name: {{ include "orderflow.fullname" . }}
- name: tmp
  emptyDir: {}
{{- $t := .Values.temporal }}
{{- with $t.tls.ca.existingSecret }}
- name: temporal-ca
  secret:
    secretName: {{ . }}
    items:
      - {key: {{ $t.tls.ca.key }}, path: {{ $t.tls.ca.key }}}
{{- end }}
{{- with $t.tls.clientCert.existingSecret }}
- name: temporal-client
  secret:
    secretName: {{ . }}
    items:
      - {key: {{ $t.tls.clientCert.certKey }}, path: {{ $t.tls.clientCert.certKey }}}
      - {key: {{ $t.tls.clientCert.keyKey }}, path: {{ $t.tls.clientCert.keyKey }}}
{{- end }}
{{- with $t.apiKey.existingSecret }}
- name: temporal-api-key
  secret:
    secretName: {{ . }}
    items:
      - {key: {{ $t.apiKey.key }}, path: {{ $t.apiKey.key }}}
{{- end }}
{{- end -}}

{{/*
Mounts of every orderflow container. Secrets are mounted as directories, never
with subPath: the kubelet then swaps in a rotated file, which orderflow re-reads.
*/}}
{{- define "orderflow.volumeMounts" -}}
- name: config
  mountPath: /etc/orderflow/config
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- $t := .Values.temporal }}
{{- if $t.tls.ca.existingSecret }}
- name: temporal-ca
  mountPath: {{ include "orderflow.temporalCADir" . }}
  readOnly: true
{{- end }}
{{- if $t.tls.clientCert.existingSecret }}
- name: temporal-client
  mountPath: {{ include "orderflow.temporalClientDir" . }}
  readOnly: true
{{- end }}
{{- if $t.apiKey.existingSecret }}
- name: temporal-api-key
  mountPath: {{ include "orderflow.temporalAPIKeyDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The pod-level settings both Deployments and the Job share. */}}
{{- define "orderflow.podCommon" -}}
serviceAccountName: {{ include "orderflow.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/*
orderflow's search attributes and their types (workflows.SearchAttributes;
the chart's validator checks the two agree).
*/}}
{{- define "orderflow.searchAttributes" -}}
OrderID=Keyword AWB=Keyword Courier=Keyword TrackingStatus=Keyword InvoiceID=Keyword RecoveryStatus=Keyword RetryCount=Int SweepOrdersPolled=Int SweepFirstRTOs=Int SweepCourierCalls=KeywordList
{{- end -}}

{{/*
Worker Deployment Versioning (docs/deploys.md). The build id is the worker's
version: versioning.buildId, else the image tag, else the chart's appVersion.
It is also a pod label, so it must be a valid label value.
*/}}
{{- define "orderflow.buildID" -}}
{{- $id := .Values.versioning.buildId | default .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if not (regexMatch "^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$" $id) -}}
{{- fail (printf "versioning.buildId: %q is no build id the chart can label pods with (letters, digits, '.', '_', '-', at most 63, starting and ending with a letter or digit)" $id) -}}
{{- end -}}
{{- $id -}}
{{- end -}}

{{/*
The worker Deployment's name. With versioning on, one Deployment per build
id: an upgrade starts the new build's workers beside the old build's, which
keep serving their pinned runs until they drain.
*/}}
{{- define "orderflow.workerName" -}}
{{- if .Values.versioning.enabled -}}
{{- printf "%s-worker-%s" (include "orderflow.fullname" .) (include "orderflow.buildID" . | lower | replace "_" "-" | replace "." "-") | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-worker" (include "orderflow.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The versioning keys (worker.versioning, worker.deployment_name,
worker.build_id) of the worker and of the Job that promotes its version.
They come from versioning.*, never from config.worker.
*/}}
{{- define "orderflow.versioningEnv" -}}
{{- range $key := list "versioning" "deployment_name" "build_id" }}
{{- if hasKey ($.Values.config.worker | default dict) $key }}
{{- fail (printf "config.worker.%s: set versioning.* instead (docs/deploys.md)" $key) }}
{{- end }}
{{- end }}
- name: ORDERFLOW_WORKER_VERSIONING
  value: {{ .Values.versioning.enabled | toString | quote }}
- name: ORDERFLOW_WORKER_DEPLOYMENT_NAME
  value: {{ .Values.versioning.deploymentName | required "versioning.deploymentName: name the Worker Deployment" | quote }}
- name: ORDERFLOW_WORKER_BUILD_ID
  value: {{ include "orderflow.buildID" . | quote }}
{{- end -}}
