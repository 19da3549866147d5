variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
}

variable "admin_role_arns" {
  description = "IAM roles given cluster-admin (the platform team's SSO role, the pipeline's apply role)."
  type        = list(string)
}

variable "team_role_groups" {
  description = "People's IAM roles (SSO permission sets) and the Kubernetes groups they get: shipshape-developers, shipshape-release-managers."
  type        = map(list(string))
}

variable "api_access_cidrs" {
  description = "Addresses allowed to reach the Kubernetes API's public endpoint."
  type        = list(string)
}

variable "secrets_version" {
  description = "Bump to generate and write new application secrets and database password (rotation)."
  type        = number
  default     = 1
}

variable "dns_zone_name" {
  description = "Public zone of the host names (empty: DNS is managed elsewhere)."
  type        = string
  default     = ""
}
