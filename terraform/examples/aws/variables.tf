variable "region" {
  description = "AWS region of the platform."
  type        = string
  default     = "us-east-1"
}

variable "project_name" {
  description = "Project name (must match the bot's project_name)."
  type        = string
  default     = "jitsi-video-platform"
}

variable "domain" {
  description = "Meeting domain, e.g. meet.example.com."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone of the domain, or null to manage DNS elsewhere."
  type        = string
  default     = null
}

variable "acm_lookup" {
  description = "Use the ISSUED ACM certificate of the domain for TLS on the NLB."
  type        = bool
  default     = false
}

variable "jwt_enabled" {
  description = "Require JWT meeting links."
  type        = bool
  default     = true
}

variable "nlb_enabled" {
  description = "Create the on-demand NLB with Terraform. Leave false: the bot sets it per start and stop when its nlb_driver is terraform."
  type        = bool
  default     = false
}
