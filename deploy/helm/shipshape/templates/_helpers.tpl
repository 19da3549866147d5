{{/* Labels every object carries (the overlays' common labels). */}}
{{- define "shipshape.labels" -}}
app.kubernetes.io/name: shipshape
app.kubernetes.io/part-of: shipshape
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
environment: {{ .Values.environment }}
{{- end -}}

{{/* The image, always by digest. */}}
{{- define "shipshape.image" -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- end -}}

{{/* The restricted container securityContext, for a uid. */}}
{{- define "shipshape.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Labels of the objects an overlay adds (its namespace, database): tool and environment only. */}}
{{- define "shipshape.environmentLabels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
environment: {{ .Values.environment }}
{{- end -}}
