variable "name" {
  description = "Secrets Manager name of the environment's entry: shipshape/<environment>, as the ExternalSecret's remoteRef.key."
  type        = string
}

variable "alerting_name" {
  description = "Secrets Manager name of the Alertmanager receivers' entry, as config/alertmanager-receivers.yaml reads it."
  type        = string
}

variable "registry_name" {
  description = "Secrets Manager name of the image pull credentials' entry, as base/registry-pull-secret.yaml reads it."
  type        = string
}

variable "values" {
  description = "The entry's JSON properties (database_url, jwt_secret, session_secret). Ephemeral: written write-only, never in state."
  type        = map(string)
  ephemeral   = true
}

variable "values_version" {
  description = "Bump to write new values (rotation)."
  type        = number
}

variable "recovery_window_days" {
  description = "Days a deleted entry can still be restored."
  type        = number
}

variable "tags" {
  description = "Tags every resource carries."
  type        = map(string)
}
