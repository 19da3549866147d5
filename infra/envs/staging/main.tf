# Staging: its own VPC (one NAT gateway) and EKS cluster with a spot pool. Its PostgreSQL runs
# in the cluster (deploy/kubernetes/overlays/staging/postgres.yaml), so there is no RDS here;
# the image comes from the registry infra/envs/production creates (same account, so the
# nodes' AmazonEC2ContainerRegistryReadOnly suffices).

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
  environment = "staging"
  name        = "shipshape-${local.environment}"
  tags = {
    project     = "shipshape"
    environment = local.environment
    managed-by  = "terraform"
    repository  = "shipshape/infra/envs/staging"
  }

  # The in-cluster PostgreSQL's max_connections (the -c max_connections argument in
  # overlays/staging/postgres.yaml), from the same budget as production's RDS: HPA maxReplicas
  # 3 + maxSurge 1, times DATABASE_POOL_SIZE 10, plus the migration Job's 10, plus 10 spare.
  connection_budget = {
    max_pods       = 3
    surge_pods     = 1
    pool_size      = 10
    migration_pool = 10
    admin_reserve  = 10
  }
  max_connections = (local.connection_budget.max_pods + local.connection_budget.surge_pods) * local.connection_budget.pool_size + local.connection_budget.migration_pool + local.connection_budget.admin_reserve
}

module "network" {
  source = "../../modules/network"

  name                    = local.name
  cidr_block              = "10.10.0.0/16"
  availability_zones      = slice(data.aws_availability_zones.available.names, 0, 3)
  single_nat_gateway      = true
  cluster_name            = local.name
  flow_log_retention_days = 30
  tags                    = local.tags
}

module "secrets" {
  source = "../../modules/secrets"

  name          = "shipshape/${local.environment}"
  alerting_name = "shipshape/${local.environment}/alerting"
  registry_name = "shipshape/${local.environment}/registry"
  values = {
    database_url      = "postgres://shipshape:${ephemeral.random_password.database.result}@postgres:5432/shipshape"
    postgres_password = ephemeral.random_password.database.result
    jwt_secret        = ephemeral.random_password.jwt.result
    session_secret    = ephemeral.random_password.session.result
  }
  values_version       = var.secrets_version
  recovery_window_days = 7
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
  backup_retention_days = 7
  log_retention_days    = 30
  node_groups = {
    # The platform (Argo CD, Prometheus, controllers) and staging's PostgreSQL: on-demand.
    system = {
      instance_types = ["t3.large", "t3a.large"]
      capacity_type  = "ON_DEMAND"
      min_size       = 2
      max_size       = 3
      desired_size   = 2
      disk_size_gb   = 50
      labels         = {}
      taints         = []
    }
    # The application's pods may run on spot: several instance types, so one type's shortage
    # does not empty the pool.
    spot = {
      instance_types = ["m7i.large", "m6i.large", "m6a.large", "m5.large"]
      capacity_type  = "SPOT"
      min_size       = 0
      max_size       = 4
      desired_size   = 1
      disk_size_gb   = 50
      labels         = { "shipshape.dev/pool" = "spot" }
      taints         = []
    }
  }
  tags = local.tags
}

module "dns" {
  source = "../../modules/dns"
  count  = var.dns_zone_name == "" ? 0 : 1

  zone_name   = var.dns_zone_name
  create_zone = false
  tags        = local.tags
}

# Generated at apply, written write-only to Secrets Manager: never stored in state.
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
