# The staging environment's inputs. None is secret; replace the examples with your own before the
# first apply (docs/infrastructure.md). Secrets are generated at apply time, never written here.

# Who administers the cluster (EKS access entries): your platform team's SSO role.
admin_role_arns = ["arn:aws:iam::123456789012:role/platform-admins"]

# Who may reach the Kubernetes API's public endpoint: your office or VPN egress, the CI runners.
api_access_cidrs = ["203.0.113.0/24"]
