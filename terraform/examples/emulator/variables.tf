variable "aws_endpoint_url" {
  description = "Base URL of the AWS emulator (moto server or the project's emulator), e.g. http://127.0.0.1:5000."
  type        = string
  default     = "http://127.0.0.1:5000"
}

variable "region" {
  description = "Region the emulator should pretend to be."
  type        = string
  default     = "us-east-1"
}

variable "project_name" {
  description = "Project name passed to the root module."
  type        = string
  default     = "jitsi-emu"
}

variable "domain" {
  description = "Meeting domain passed to the root module."
  type        = string
  default     = "meet.example.test"
}

variable "ingress" {
  description = "The way in: \"nlb\" or \"direct\" (the task's own public IP, no load balancer)."
  type        = string
  default     = "nlb"
}

variable "nlb_enabled" {
  description = "Create the on-demand NLB with Terraform (module jvb_nlb)."
  type        = bool
  default     = false
}

variable "enable_tcp_4443" {
  description = "Add the legacy TCP 4443 listener."
  type        = bool
  default     = false
}

variable "jwt_enabled" {
  description = "Require JWT meeting links."
  type        = bool
  default     = true
}

variable "recordings_bucket_enabled" {
  description = "Create the recordings bucket."
  type        = bool
  default     = true
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone (created in the emulator beforehand), or null."
  type        = string
  default     = null
}

variable "dns_negative_cache_ttl" {
  description = "SOA TTL and minimum of the hosted zone, in seconds (null: leave the SOA alone)."
  type        = number
  default     = 60
}

variable "acm_certificate_arn" {
  description = "ACM certificate for TLS on 443, or null for TCP pass-through."
  type        = string
  default     = null
}

variable "image_cache" {
  description = "none or ecr: the ECR pull-through cache rule for Docker Hub (its secret must exist)."
  type        = string
  default     = "none"
}
