# Optional: the public zone of the application's host names. The records themselves point at
# the ingress load balancer, which only exists once ingress-nginx runs: they are created by
# hand (or external-dns) after the platform is installed, see docs/infrastructure.md.

resource "aws_route53_zone" "this" {
  count = var.create_zone ? 1 : 0

  name = var.zone_name

  tags = var.tags
}

data "aws_route53_zone" "existing" {
  count = var.create_zone ? 0 : 1

  name = var.zone_name
}

locals {
  zone_id      = var.create_zone ? aws_route53_zone.this[0].zone_id : data.aws_route53_zone.existing[0].zone_id
  name_servers = var.create_zone ? aws_route53_zone.this[0].name_servers : data.aws_route53_zone.existing[0].name_servers
}
