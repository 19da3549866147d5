variable "name" {
  description = "The EKS cluster's name, e.g. shipshape-production."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes minor version."
  type        = string
}

variable "vpc_id" {
  description = "VPC the cluster runs in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets for the control plane's interfaces and the nodes (private only)."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Addresses allowed to reach the public API endpoint (operators, CI runners); empty turns the public endpoint off."
  type        = list(string)
}

variable "admin_role_arns" {
  description = "IAM roles granted cluster-admin through EKS access entries (the platform team, the apply pipeline)."
  type        = list(string)
}

variable "team_role_groups" {
  description = "IAM roles of people (SSO permission sets) and the Kubernetes groups each is put in: the groups the application's RoleBindings name (deploy/README.md, Guardrails and access). No access policy: their rights are those RoleBindings."
  type        = map(list(string))
}

variable "node_groups" {
  description = "Managed node groups by name. capacity_type SPOT for interruptible pools."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gb   = number
    labels         = map(string)
    taints = list(object({
      key    = string
      value  = string
      effect = string
    }))
  }))

  validation {
    condition     = alltrue([for group in values(var.node_groups) : contains(["ON_DEMAND", "SPOT"], group.capacity_type)])
    error_message = "capacity_type is ON_DEMAND or SPOT."
  }
}

variable "secret_arns" {
  description = "Secrets Manager entries External Secrets may read (and nothing else)."
  type        = list(string)
}

variable "secrets_kms_key_arn" {
  description = "KMS key of those secrets, which External Secrets must be allowed to decrypt with."
  type        = string
}

variable "backup_retention_days" {
  description = "Days a cluster backup (Velero) is kept in the backup bucket before it expires."
  type        = number
}

variable "log_retention_days" {
  description = "Days the control plane's logs are kept in CloudWatch."
  type        = number
}

variable "tags" {
  description = "Tags every resource carries."
  type        = map(string)
}
