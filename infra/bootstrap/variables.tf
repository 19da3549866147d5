variable "region" {
  description = "AWS region of the state bucket (and of the environments)."
  type        = string
  default     = "eu-west-1"
}

variable "state_bucket_name" {
  description = "Globally unique name of the Terraform state bucket."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows may plan and apply (empty: none)."
  type        = string
  default     = ""
}

variable "gitlab_project_path" {
  description = "group/project of the GitLab project whose pipelines may plan and apply (empty: none)."
  type        = string
  default     = ""
}

variable "gitlab_url" {
  description = "The GitLab instance issuing the pipelines' OIDC tokens."
  type        = string
  default     = "https://gitlab.com"
}
