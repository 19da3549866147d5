output "address" {
  description = "The database's host name."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "The database's port."
  value       = aws_db_instance.this.port
}

output "max_connections" {
  description = "max_connections of the parameter group: the application's budget plus the admin reserve."
  value       = local.max_connections
}

output "security_group_id" {
  description = "The database's security group."
  value       = aws_security_group.database.id
}
