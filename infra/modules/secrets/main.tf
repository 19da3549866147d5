# The environment's application secrets in Secrets Manager, one JSON entry whose properties the
# ExternalSecret maps to DATABASE_URL, JWT_SECRETS and SESSION_SECRETS (key rings of one key
# here; a rotation edits the entry, docs/secret-rotation.md). The values are generated
# by the environment as ephemeral values and written write-only: they exist in Secrets Manager
# and nowhere else (not in this repository, not in the state, not in any output or plan).

resource "aws_kms_key" "secrets" {
  description             = "${var.name}: application secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${replace(var.name, "/", "-")}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_secretsmanager_secret" "application" {
  name                    = var.name
  description             = "Shipshape application secrets (database_url, jwt_secret, session_secret)"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

# The Alertmanager receivers' endpoints (Slack webhook URL, PagerDuty routing key): third-party
# credentials a person enters (docs/infrastructure.md); Terraform creates only the entry.
resource "aws_secretsmanager_secret" "alerting" {
  name                    = var.alerting_name
  description             = "Alertmanager receivers (slack_tickets_url, pagerduty_routing_key) and the Argo CD notifications webhook (chat_webhook_url), entered by hand"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

# The registry credentials the cluster pulls the app's image with (server, username, password:
# a read-only token of GHCR or GitLab, deploy/README.md): entered by hand, like the receivers.
resource "aws_secretsmanager_secret" "registry" {
  name                    = var.registry_name
  description             = "Image pull credentials (server, username, password), entered by hand"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "application" {
  secret_id                = aws_secretsmanager_secret.application.id
  secret_string_wo         = jsonencode(var.values)
  secret_string_wo_version = var.values_version
}
