{{- define "fastapi-agent.labels" -}}
app.kubernetes.io/name: fastapi-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fastapi-agent.selector" -}}
app: fastapi-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
