output "secret_arn" {
  description = "ARN of the entry (External Secrets' role may read it); the value is never output."
  value       = aws_secretsmanager_secret.application.arn
}

output "alerting_secret_arn" {
  description = "ARN of the Alertmanager receivers' entry."
  value       = aws_secretsmanager_secret.alerting.arn
}

output "registry_secret_arn" {
  description = "ARN of the image pull credentials' entry."
  value       = aws_secretsmanager_secret.registry.arn
}

output "kms_key_arn" {
  description = "The key that encrypts the entry."
  value       = aws_kms_key.secrets.arn
}
