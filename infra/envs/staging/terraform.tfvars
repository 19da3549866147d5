# The staging environment's inputs. None is secret; replace the examples with your own before the
# first apply (docs/infrastructure.md). Secrets are generated at apply time, never written here.

# Who administers the cluster (EKS access entries): your platform team's SSO role.
admin_role_arns = ["arn:aws:iam::123456789012:role/platform-admins"]

# Everyone else who uses kubectl, by SSO role: the Kubernetes groups the application's RoleBindings
# name (developers edit staging and read production; release managers also operate production).
team_role_groups = {
  "arn:aws:iam::123456789012:role/shipshape-developers"       = ["shipshape-developers"]
  "arn:aws:iam::123456789012:role/shipshape-release-managers" = ["shipshape-release-managers"]
}

# Who may reach the Kubernetes API's public endpoint: your office or VPN egress, the CI runners.
api_access_cidrs = ["203.0.113.0/24"]
