variable "name" {
  description = "Repository name, e.g. shipshape."
  type        = string
}

variable "release_tag_prefixes" {
  description = "Tags of releases (semver images); their digests are never expired."
  type        = list(string)
}

variable "keep_untagged_days" {
  description = "Days an untagged image (a superseded build, a cache layer) is kept."
  type        = number
}

variable "keep_commit_images" {
  description = "How many commit-tagged images (sha-...) to keep: enough to roll staging back."
  type        = number
}

variable "pull_principal_arns" {
  description = "Roles of other accounts' nodes allowed to pull (empty when the clusters share the registry's account)."
  type        = list(string)
}

variable "tags" {
  description = "Tags every resource carries."
  type        = map(string)
}
