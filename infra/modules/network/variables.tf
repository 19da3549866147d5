variable "name" {
  description = "Prefix of every resource name, e.g. shipshape-production."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range (a /16); subnets are carved out of it."
  type        = string
}

variable "availability_zones" {
  description = "Three zones: one subnet of each tier in each."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "The network spans exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, staging) instead of one per zone (production)."
  type        = bool
}

variable "cluster_name" {
  description = "EKS cluster whose load balancer controller and autoscaler discover these subnets by tag."
  type        = string
}

variable "flow_log_retention_days" {
  description = "How long VPC flow logs are kept in CloudWatch."
  type        = number
}

variable "tags" {
  description = "Tags every resource carries (environment, owner, cost centre)."
  type        = map(string)
}
