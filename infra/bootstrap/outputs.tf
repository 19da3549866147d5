output "state_bucket" {
  description = "Give it to terraform init: -backend-config=\"bucket=<this>\" (TF_STATE_BUCKET in the pipelines)."
  value       = aws_s3_bucket.state.bucket
}

output "pipeline_role_arns" {
  description = "The roles the pipelines assume (AWS_PLAN_ROLE_ARN / AWS_APPLY_ROLE_ARN per environment)."
  value       = { for name, role in aws_iam_role.pipeline : name => role.arn }
}

output "account_id" {
  description = "The account everything was created in."
  value       = data.aws_caller_identity.current.account_id
}
