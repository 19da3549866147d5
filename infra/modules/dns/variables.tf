variable "zone_name" {
  description = "The public hosted zone, e.g. example.com; cert-manager answers DNS-01 challenges in it."
  type        = string
}

variable "create_zone" {
  description = "Create the zone (true) or look up an existing one (false)."
  type        = bool
}

variable "tags" {
  description = "Tags every resource carries."
  type        = map(string)
}
