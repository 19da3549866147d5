output "image_repository_url" {
  description = "Where the release pipelines push the image."
  value       = aws_ecr_repository.this[var.name].repository_url
}

output "chart_repository_url" {
  description = "Where the release pipelines push the Helm chart (oci://)."
  value       = aws_ecr_repository.this["charts/${var.name}"].repository_url
}
