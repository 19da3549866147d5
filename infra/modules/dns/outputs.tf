output "zone_id" {
  description = "The hosted zone's id."
  value       = local.zone_id
}

output "name_servers" {
  description = "Delegate the domain to these."
  value       = local.name_servers
}
