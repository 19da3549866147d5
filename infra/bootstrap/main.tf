# What must exist before any environment: the state bucket, and the roles the pipelines assume
# through OIDC (no static access keys anywhere). Two roles per environment:
#   plan  - read-only on the account, read/write on that environment's state and lock;
#           assumable from any pipeline of the repository (pull requests included)
#   apply - administrator; assumable only from a job in that environment's deployment
#           environment: GitHub environment staging / production (production with the required
#           reviewers that also gate the production deploy), or, on GitLab, a pipeline of the
#           default branch whose apply jobs run in the protected environments, i.e. after approval

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project    = "shipshape"
      managed-by = "terraform"
      repository = "shipshape/infra/bootstrap"
    }
  }
}

data "aws_caller_identity" "current" {}

locals {
  environments  = toset(["staging", "production"])
  github_issuer = "token.actions.githubusercontent.com"
  gitlab_issuer = trimprefix(var.gitlab_url, "https://")
}

resource "aws_kms_key" "state" {
  description             = "Terraform state of Shipshape"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_s3_bucket" "state" {
  bucket = var.state_bucket_name

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "state_tls_only" {
  statement {
    sid       = "DenyPlainHttp"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_tls_only.json
}

# ---- OIDC identity providers ----

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_repository == "" ? 0 : 1

  url            = "https://${local.github_issuer}"
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_openid_connect_provider" "gitlab" {
  count = var.gitlab_project_path == "" ? 0 : 1

  url            = var.gitlab_url
  client_id_list = ["sts.amazonaws.com"]
}

# Who may assume a role: the repository's workflows for plan; for apply, only a job running in
# the environment's protected deployment environment.
data "aws_iam_policy_document" "pipeline_assume" {
  for_each = { for pair in setproduct(["plan", "apply"], tolist(local.environments)) : "${pair[0]}-${pair[1]}" => { role = pair[0], environment = pair[1] } }

  dynamic "statement" {
    for_each = var.github_repository == "" ? [] : [1]
    content {
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [aws_iam_openid_connect_provider.github[0].arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.github_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
      condition {
        test     = "StringLike"
        variable = "${local.github_issuer}:sub"
        values   = each.value.role == "apply" ? ["repo:${var.github_repository}:environment:${each.value.environment}"] : ["repo:${var.github_repository}:*"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.gitlab_project_path == "" ? [] : [1]
    content {
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [aws_iam_openid_connect_provider.gitlab[0].arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.gitlab_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
      condition {
        test     = "StringLike"
        variable = "${local.gitlab_issuer}:sub"
        values   = each.value.role == "apply" ? ["project_path:${var.gitlab_project_path}:ref_type:branch:ref:main"] : ["project_path:${var.gitlab_project_path}:*"]
      }
    }
  }
}

resource "aws_iam_role" "pipeline" {
  for_each = data.aws_iam_policy_document.pipeline_assume

  name                 = "shipshape-terraform-${each.key}"
  assume_role_policy   = each.value.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  for_each = local.environments

  role       = aws_iam_role.pipeline["plan-${each.value}"].name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy_attachment" "apply_administrator" {
  for_each = local.environments

  role       = aws_iam_role.pipeline["apply-${each.value}"].name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

# Plan and apply both take the state lock, so both write to their environment's state prefix.
data "aws_iam_policy_document" "state_access" {
  for_each = local.environments

  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }
  statement {
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/shipshape/${each.value}/*"]
  }
  statement {
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.state.arn]
  }
}

resource "aws_iam_role_policy" "state_access" {
  for_each = data.aws_iam_policy_document.pipeline_assume

  name   = "terraform-state"
  role   = aws_iam_role.pipeline[each.key].id
  policy = data.aws_iam_policy_document.state_access[split("-", each.key)[1]].json
}
