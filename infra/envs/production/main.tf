# Production: its own VPC and EKS cluster, a Multi-AZ RDS PostgreSQL protected from deletion,
# the registry the release pipelines push to, and the application's secrets.

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  environment = "production"
  name        = "shipshape-${local.environment}"
  tags = {
    project     = "shipshape"
    environment = local.environment
    managed-by  = "terraform"
    repository  = "shipshape/infra/envs/production"
  }

  # The application's connection budget, from deploy/kubernetes (test/infra checks they agree):
  # HPA maxReplicas 10 in overlays/production, maxSurge 1 in base/deployment.yaml,
  # DATABASE_POOL_SIZE 10 in base/configmap.yaml; the migration Job runs with the default
  # pool of 10; 20 more for people, monitoring and RDS's own reserved connections.
  connection_budget = {
    max_pods       = 10
    surge_pods     = 1
    pool_size      = 10
    migration_pool = 10
    admin_reserve  = 20
  }
}

module "network" {
  source = "../../modules/network"

  name                    = local.name
  cidr_block              = "10.20.0.0/16"
  availability_zones      = slice(data.aws_availability_zones.available.names, 0, 3)
  single_nat_gateway      = false
  cluster_name            = local.name
  flow_log_retention_days = 90
  tags                    = local.tags
}

module "secrets" {
  source = "../../modules/secrets"

  name          = "shipshape/${local.environment}"
  alerting_name = "shipshape/${local.environment}/alerting"
  registry_name = "shipshape/${local.environment}/registry"
  values = {
    database_url   = "postgres://shipshape:${ephemeral.random_password.database.result}@${module.database.address}:${module.database.port}/shipshape?sslmode=no-verify"
    jwt_secret     = ephemeral.random_password.jwt.result
    session_secret = ephemeral.random_password.session.result
  }
  values_version       = var.secrets_version
  recovery_window_days = 30
  tags                 = local.tags
}

module "cluster" {
  source = "../../modules/cluster"

  name                  = local.name
  kubernetes_version    = "1.34"
  vpc_id                = module.network.vpc_id
  private_subnet_ids    = module.network.private_subnet_ids
  public_access_cidrs   = var.api_access_cidrs
  admin_role_arns       = var.admin_role_arns
  team_role_groups      = var.team_role_groups
  secret_arns           = [module.secrets.secret_arn, module.secrets.alerting_secret_arn, module.secrets.registry_secret_arn]
  secrets_kms_key_arn   = module.secrets.kms_key_arn
  backup_retention_days = 30
  log_retention_days    = 90
  node_groups = {
    general = {
      instance_types = ["m7i.large", "m6i.large"]
      capacity_type  = "ON_DEMAND"
      min_size       = 3
      max_size       = 9
      desired_size   = 3
      disk_size_gb   = 50
      labels         = {}
      taints         = []
    }
  }
  tags = local.tags
}

module "database" {
  source = "../../modules/database"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.database_subnet_ids
  client_security_group_ids = [module.cluster.node_security_group_id]
  engine_version            = "17.6"
  instance_class            = "db.m7g.large"
  allocated_storage_gb      = 50
  max_allocated_storage_gb  = 500
  multi_az                  = true
  deletion_protection       = true
  backup_retention_days     = 14
  connection_budget         = local.connection_budget
  database_name             = "shipshape"
  username                  = "shipshape"
  password                  = ephemeral.random_password.database.result
  password_version          = var.secrets_version
  tags                      = local.tags
}

# One repository for both environments: staging and production run the same digest.
module "registry" {
  source = "../../modules/registry"

  name                 = "shipshape"
  release_tag_prefixes = ["v", "0.", "1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9."]
  keep_commit_images   = 50
  keep_untagged_days   = 14
  pull_principal_arns  = []
  tags                 = local.tags
}

module "dns" {
  source = "../../modules/dns"
  count  = var.dns_zone_name == "" ? 0 : 1

  zone_name   = var.dns_zone_name
  create_zone = true
  tags        = local.tags
}

# Generated at apply, handed write-only to RDS and Secrets Manager: never stored in state.
# Letters and digits only, so the database URL needs no escaping.
ephemeral "random_password" "database" {
  length  = 40
  special = false
}

ephemeral "random_password" "jwt" {
  length  = 64
  special = false
}

ephemeral "random_password" "session" {
  length  = 64
  special = false
}
