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

output "postgres_max_connections" {
  description = "max_connections for the in-cluster PostgreSQL: (HPA max + surge) x pool + migration pool + reserve."
  value       = local.max_connections
}

output "secret_arn" {
  description = "The application secrets' entry (its value is never an output)."
  value       = module.secrets.secret_arn
}

output "load_balancer_security_group_id" {
  description = "deploy/platform: ingress-nginx's aws-load-balancer-security-groups annotation."
  value       = module.cluster.load_balancer_security_group_id
}
