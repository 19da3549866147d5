output "cluster_name" {
  description = "aws eks update-kubeconfig --name <this>"
  value       = module.cluster.name
}

output "workload_role_arns" {
  description = "Pod Identity roles of the platform controllers."
  value       = module.cluster.workload_role_arns
}

output "backup_bucket" {
  description = "Velero's bucket (deploy/platform values)."
  value       = module.cluster.backup_bucket
}

output "database_address" {
  description = "RDS host name (in DATABASE_URL, which lives in Secrets Manager only)."
  value       = module.database.address
}

output "database_max_connections" {
  description = "max_connections: (HPA max + surge) x pool + migration pool + reserve."
  value       = module.database.max_connections
}

output "database_subnets_cidr" {
  description = "The CIDR for overlays/production/database-egress.yaml."
  value       = module.network.database_subnets_cidr
}

output "image_repository_url" {
  description = "The registry the release pipelines push the image to."
  value       = module.registry.image_repository_url
}

output "chart_repository_url" {
  description = "The registry the release pipelines push the Helm chart to."
  value       = module.registry.chart_repository_url
}

output "secret_arn" {
  description = "The application secrets' entry (its value is never an output)."
  value       = module.secrets.secret_arn
}

output "name_servers" {
  description = "Delegate the domain to these (when dns_zone_name is set)."
  value       = var.dns_zone_name == "" ? [] : module.dns[0].name_servers
}

output "load_balancer_security_group_id" {
  description = "deploy/platform: ingress-nginx's aws-load-balancer-security-groups annotation."
  value       = module.cluster.load_balancer_security_group_id
}
