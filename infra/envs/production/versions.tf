terraform {
  # Write-only arguments (password_wo, secret_string_wo) and ephemeral values need 1.11.
  required_version = "~> 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.27.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
  }

  # One state per environment in the bucket infra/bootstrap creates; the bucket's name is
  # given at init (-backend-config="bucket=..."), so no account-specific name is committed.
  # S3-native locking (a .tflock object next to the state), no DynamoDB table.
  backend "s3" {
    key          = "shipshape/production/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
