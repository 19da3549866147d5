terraform {
  required_version = "~> 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.27.0"
    }
  }

  # Applied once, by a person with administrator rights, from a local state; after the first
  # apply, uncomment and run `terraform init -migrate-state -backend-config="bucket=<state_bucket>"`
  # to move this state into the bucket it created.
  # backend "s3" {
  #   key          = "shipshape/bootstrap/terraform.tfstate"
  #   region       = "eu-west-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}
