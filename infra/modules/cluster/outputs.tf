output "name" {
  description = "The cluster's name."
  value       = aws_eks_cluster.this.name
}

output "endpoint" {
  description = "The Kubernetes API endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "certificate_authority" {
  description = "The cluster CA (base64), for kubeconfig."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "node_security_group_id" {
  description = "The security group EKS puts on the nodes (and pods): the database admits it."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "workload_role_arns" {
  description = "Pod Identity role of each platform controller, by name."
  value       = { for name, role in aws_iam_role.workload : name => role.arn }
}

output "backup_bucket" {
  description = "The bucket Velero writes cluster backups to."
  value       = aws_s3_bucket.backups.bucket
}

output "load_balancer_security_group_id" {
  description = "For ingress-nginx's Service annotation service.beta.kubernetes.io/aws-load-balancer-security-groups."
  value       = aws_security_group.load_balancer.id
}
