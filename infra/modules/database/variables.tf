variable "name" {
  description = "Identifier of the instance, e.g. shipshape-production."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database's security group."
  type        = string
}

variable "subnet_ids" {
  description = "The database subnets (no route to the internet)."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on 5432: the EKS nodes' (pods share it)."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL major.minor, e.g. 17.6."
  type        = string
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial storage; grows automatically up to max_allocated_storage_gb."
  type        = number
}

variable "max_allocated_storage_gb" {
  description = "Ceiling of storage autoscaling."
  type        = number
}

variable "multi_az" {
  description = "A synchronous standby in another zone (production)."
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse DeleteDBInstance, and take a final snapshot if it is ever deleted (production)."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups, which is also the point-in-time recovery window."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "Keep 7 to 35 days of backups (RDS allows at most 35)."
  }
}

variable "connection_budget" {
  description = <<-EOT
    What the application may open at its peak: pods at the autoscaler's maximum plus the
    rollout's surge, times DATABASE_POOL_SIZE, plus the migration Job's pool. max_connections
    is this plus admin_reserve (people, monitoring, RDS itself).
  EOT
  type = object({
    max_pods       = number
    surge_pods     = number
    pool_size      = number
    migration_pool = number
    admin_reserve  = number
  })
}

variable "database_name" {
  description = "The application's database."
  type        = string
}

variable "username" {
  description = "The application's role (the master user)."
  type        = string
}

variable "password" {
  description = "Master password. Ephemeral: sent to RDS write-only, never stored in state or plan."
  type        = string
  ephemeral   = true
}

variable "password_version" {
  description = "Bump to send a new password (rotation)."
  type        = number
}

variable "tags" {
  description = "Tags every resource carries."
  type        = map(string)
}
