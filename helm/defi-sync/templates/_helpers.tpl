{{/*
Names. The fullname is at most 63 characters (a label value); CronJob names get their own limit
below.
*/}}
{{- define "defi-sync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "defi-sync.fullname" -}}
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

{{- define "defi-sync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "defi-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "defi-sync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "defi-sync.labels" -}}
helm.sh/chart: {{ include "defi-sync.chart" . }}
{{ include "defi-sync.selectorLabels" . }}
app.kubernetes.io/version: {{ include "defi-sync.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: defi-sync
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The CronJob name for a job: `<fullname>-<job>` within 52 characters, since the controller appends
11 characters to name each Job and Job names must fit in 63. The fullname part is shortened first
so distinct jobs keep distinct names. Call with (dict "root" $ "job" $jobName).
*/}}
{{- define "defi-sync.cronJobName" -}}
{{- $job := .job -}}
{{- $room := sub 51 (len $job) | int -}}
{{- if ge $room 1 -}}
{{- printf "%s-%s" (include "defi-sync.fullname" .root | trunc $room | trimSuffix "-") $job -}}
{{- else -}}
{{- $job | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Name of a Job started by hand from a CronJob, with `$(date +%s)` (10 digits) at the end, kept
within 63 characters.
*/}}
{{- define "defi-sync.manualJobPrefix" -}}
{{- printf "%s-manual" (. | trunc 45 | trimSuffix "-") -}}
{{- end -}}

{{- define "defi-sync.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "defi-sync.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "defi-sync.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{- define "defi-sync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "defi-sync.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- /* The job pods need no API token: `trigger` has a ServiceAccount of its own. */}}
{{- define "defi-sync.automountToken" -}}
{{- if .Values.serviceAccount.automountServiceAccountToken -}}
true
{{- else -}}
false
{{- end -}}
{{- end -}}

{{- define "defi-sync.triggerServiceAccountName" -}}
{{- printf "%s-trigger" (include "defi-sync.fullname" . | trunc 55 | trimSuffix "-") -}}
{{- end -}}

{{- define "defi-sync.configMapName" -}}
{{- printf "%s-config" (include "defi-sync.fullname" .) -}}
{{- end -}}

{{- define "defi-sync.secretName" -}}
{{- if and .Values.secret.existingSecret .Values.secret.create -}}
{{- fail "secret.existingSecret and secret.create exclude each other: use one Secret source" -}}
{{- end -}}
{{- default (include "defi-sync.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/*
The Secret key holding the database URL: the chart-made Secret always calls it DATABASE_URL.
*/}}
{{- define "defi-sync.databaseUrlKey" -}}
{{- if .Values.secret.create -}}DATABASE_URL{{- else -}}{{- .Values.secret.databaseUrlKey | default "DATABASE_URL" -}}{{- end -}}
{{- end -}}

{{/*
Env entries every defi-sync container gets: DATABASE_URL from its key in the Secret (a missing
key stops the pod from starting rather than letting it run without a database), and the
namespace and release, which name the metrics group of this installation.
Call with (dict "root" $ "secret" $secretName).
*/}}
{{- define "defi-sync.baseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ include "defi-sync.databaseUrlKey" .root }}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: DEFI_SYNC_RELEASE
  value: {{ .root.Release.Name | quote }}
{{- end -}}

{{/*
A scalar as a ConfigMap/env string. Numbers from values files arrive as float64 and would print
as 1e+06; whole numbers are printed as integers.
*/}}
{{- define "defi-sync.envString" -}}
{{- if or (kindIs "float64" .) (kindIs "float32" .) -}}
{{- if eq (float64 .) (floor .) -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* True when a key is present and not null: 0, false and "" count as set. */}}
{{- define "defi-sync.isSet" -}}
{{- if and (hasKey .map .key) (not (kindIs "invalid" (get .map .key))) -}}true{{- end -}}
{{- end -}}

{{/*
Deep merge of .src into .dst (mutated): maps merge key by key, anything else (lists, scalars,
including 0, false and "") replaces. sprig's merge functions skip zero values, which would turn a
per-job `backoffLimit: 0` back into the default.
*/}}
{{- define "defi-sync.mergeInto" -}}
{{- $dst := .dst -}}
{{- range $k, $v := .src -}}
{{- if and (kindIs "map" $v) (kindIs "map" (get $dst $k)) -}}
{{- include "defi-sync.mergeInto" (dict "dst" (get $dst $k) "src" $v) -}}
{{- else -}}
{{- $_ := set $dst $k $v -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Effective settings of one job: jobDefaults with jobs.<name> merged over them, written into .out.
Call with (dict "root" $ "name" $jobName "out" (dict)).
*/}}
{{- define "defi-sync.jobSettings" -}}
{{- include "defi-sync.mergeInto" (dict "dst" .out "src" (deepCopy .root.Values.jobDefaults)) -}}
{{- $job := get .root.Values.jobs .name | default dict -}}
{{- include "defi-sync.mergeInto" (dict "dst" .out "src" (deepCopy $job)) -}}
{{- end -}}

{{/* priorityClassName for a job's pods, or nothing. Call with (dict "root" $ "job" $settings). */}}
{{- define "defi-sync.priorityClassName" -}}
{{- $job := .job -}}
{{- if $job.priorityClassName -}}
{{- $job.priorityClassName -}}
{{- else if .root.Values.priorityClasses.enabled -}}
{{- include "defi-sync.priorityClassFor" (dict "root" .root "priority" $job.priority) -}}
{{- end -}}
{{- end -}}

{{- define "defi-sync.priorityClassFor" -}}
{{- $class := get .root.Values.priorityClasses.classes .priority -}}
{{- if not $class -}}
{{- fail (printf "unknown priority %q (immediate, high, medium or low)" .priority) -}}
{{- end -}}
{{- default (printf "%s-%s" (include "defi-sync.fullname" .root) .priority) $class.name -}}
{{- end -}}

{{/*
Environment shared by every container: the ConfigMap and the Secret through envFrom happen in the
pod templates; these are the extra variables. Call with (dict "root" $ "env" $list).
*/}}
{{- define "defi-sync.extraEnv" -}}
{{- $env := concat (.root.Values.extraEnv | default list) (.env | default list) -}}
{{- if $env -}}
{{ toYaml $env }}
{{- end -}}
{{- end -}}

{{/*
Pod spec parts shared by the CronJobs, the migration hook and the test pod.
Call with (dict "root" $ "job" $settings).
*/}}
{{- define "defi-sync.podCommon" -}}
{{- $root := .root -}}
{{- $job := .job -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
{{- if include "defi-sync.isSet" (dict "map" $job "key" "terminationGracePeriodSeconds") }}
terminationGracePeriodSeconds: {{ $job.terminationGracePeriodSeconds | int64 }}
{{- end }}
{{- if $job.podSecurityContext }}
securityContext:
  {{- toYaml $job.podSecurityContext | nindent 2 }}
{{- end }}
{{- if $job.nodeSelector }}
nodeSelector:
  {{- toYaml $job.nodeSelector | nindent 2 }}
{{- end }}
{{- if $job.tolerations }}
tolerations:
  {{- toYaml $job.tolerations | nindent 2 }}
{{- end }}
{{- if $job.affinity }}
affinity:
  {{- toYaml $job.affinity | nindent 2 }}
{{- end }}
{{- /* Native sidecars (init containers that keep running) first, so init containers may use them. */}}
{{- $init := list -}}
{{- range $job.sidecars | default list }}
{{- $init = append $init (merge (dict "restartPolicy" "Always") (deepCopy .)) -}}
{{- end }}
{{- $init = concat $init ($job.initContainers | default list) -}}
{{- if $init }}
initContainers:
  {{- toYaml $init | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      {{- if $job.tmpVolume.medium }}
      medium: {{ $job.tmpVolume.medium }}
      {{- end }}
      {{- if $job.tmpVolume.sizeLimit }}
      sizeLimit: {{ $job.tmpVolume.sizeLimit }}
      {{- end }}
  {{- with $job.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Container parts shared by every container. Call with (dict "root" $ "job" $settings "env" $list). */}}
{{- define "defi-sync.containerCommon" -}}
{{- $root := .root -}}
{{- $job := .job -}}
image: {{ include "defi-sync.image" $root | quote }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
{{- if $job.securityContext }}
securityContext:
  {{- toYaml $job.securityContext | nindent 2 }}
{{- end }}
{{- if $job.resources }}
resources:
  {{- toYaml $job.resources | nindent 2 }}
{{- end }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- with $job.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Standard labels plus the job's own labels. */}}
{{- define "defi-sync.jobLabels" -}}
{{ include "defi-sync.labels" .root }}
app.kubernetes.io/component: {{ .name }}
defi-sync/job: {{ .name }}
{{- with .job.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* stringData of the chart-made Secret: the non-empty values. */}}
{{- define "defi-sync.secretData" -}}
{{- if not .Values.secret.values.DATABASE_URL -}}
{{- fail "secret.create needs secret.values.DATABASE_URL" -}}
{{- end -}}
{{- range $key, $value := .Values.secret.values }}
{{- if $value }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The Secret the migration hook reads: the hook copy when the chart makes the Secret. */}}
{{- define "defi-sync.migrationSecretName" -}}
{{- if .Values.secret.create -}}
{{- printf "%s-migrations" (include "defi-sync.fullname" . | trunc 52 | trimSuffix "-") -}}
{{- else -}}
{{- include "defi-sync.secretName" . -}}
{{- end -}}
{{- end -}}

{{/*
The chart's job settings as the program reads them, so `status --check` (the helm test pod) and
every job pod judge the schedules the CronJobs really run: SCHEDULE_<JOB> per command (from the
entry named like it, else the first enabled entry running it), DISABLED_JOBS for the commands no
enabled entry runs, and TZ from jobDefaults.timeZone. Lines of `KEY: "value"`.
*/}}
{{- define "defi-sync.scheduleConfig" -}}
{{- $root := . -}}
{{- $schedules := dict -}}
{{- $seen := dict -}}
{{- range $pass := list "own" "other" }}
{{- range $name := keys $root.Values.jobs | sortAlpha }}
{{- $job := dict -}}
{{- include "defi-sync.jobSettings" (dict "root" $root "name" $name "out" $job) -}}
{{- $command := default $name $job.command -}}
{{- $_ := set $seen $command true -}}
{{- if and $job.enabled (eq (eq $command $name) (eq $pass "own")) (not (hasKey $schedules $command)) -}}
{{- $_ := set $schedules $command $job.schedule -}}
{{- end -}}
{{- end }}
{{- end }}
{{- $disabled := list -}}
{{- range $command := keys $seen | sortAlpha }}
{{- if not (hasKey $schedules $command) }}{{ $disabled = append $disabled $command }}{{ end -}}
{{- end }}
{{- if $disabled }}
DISABLED_JOBS: {{ join "," $disabled | quote }}
{{- end }}
{{- range $command := keys $schedules | sortAlpha }}
{{ printf "SCHEDULE_%s" ($command | upper | replace "-" "_") }}: {{ get $schedules $command | quote }}
{{- end }}
{{- with $root.Values.jobDefaults.timeZone }}
TZ: {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
Pods of an Indexed Job that run at once: parallelism (the API's default is 1), never more than
the completions.
*/}}
{{- define "defi-sync.jobParallelism" -}}
{{- $parallelism := 1 -}}
{{- if include "defi-sync.isSet" (dict "map" . "key" "parallelism") -}}{{- $parallelism = .parallelism -}}{{- end -}}
{{- min (int64 $parallelism) (int64 .completions) -}}
{{- end -}}

{{/*
NetworkPolicy peers of one destination: an ipBlock per CIDR, and one peer for the
namespace/pod selectors when either is set.
*/}}
{{- define "defi-sync.networkPeers" -}}
{{- $peers := list -}}
{{- range .cidrs | default list -}}
{{- $peers = append $peers (dict "ipBlock" (dict "cidr" .)) -}}
{{- end -}}
{{- $selectors := dict -}}
{{- with .namespaceSelector }}{{ $_ := set $selectors "namespaceSelector" . }}{{ end -}}
{{- with .podSelector }}{{ $_ := set $selectors "podSelector" . }}{{ end -}}
{{- if $selectors }}{{ $peers = append $peers $selectors }}{{ end -}}
{{- toYaml $peers -}}
{{- end -}}
