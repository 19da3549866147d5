output "vpc_id" {
  description = "The VPC's id."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "The VPC's address range."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Subnets for internet-facing load balancers."
  value       = [for subnet in aws_subnet.public : subnet.id]
}

output "private_subnet_ids" {
  description = "Subnets for EKS nodes and pods."
  value       = [for subnet in aws_subnet.private : subnet.id]
}

output "database_subnet_ids" {
  description = "Subnets for RDS, without a route to the internet."
  value       = [for subnet in aws_subnet.database : subnet.id]
}

output "database_subnets_cidr" {
  description = "The /24 holding every database subnet: the CIDR of the overlay's database-egress NetworkPolicy."
  value       = cidrsubnet(var.cidr_block, 8, 0)
}
