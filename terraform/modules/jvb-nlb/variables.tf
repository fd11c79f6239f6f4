variable "name_prefix" {
  description = "Prefix of every name (the project name). The Python boto3 driver derives the same names: <prefix>-nlb, <prefix>-udp10000, <prefix>-web443, <prefix>-tcp4443."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,21}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-23 characters of a-z, 0-9 and '-' (\"<prefix>-udp10000\" must fit the 32-character target group name limit)."
  }
}

variable "vpc_id" {
  description = "VPC of the target groups (the task's VPC)."
  type        = string
}

variable "subnet_ids" {
  description = "Public subnets the NLB is placed in, one per availability zone (each costs one public IPv4 address per hour while the NLB exists)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "At least one subnet is required."
  }
}

variable "certificate_arn" {
  description = "ISSUED ACM certificate covering the meeting domain, for the TLS listener on 443 (browsers must trust what 443 presents: there is no pass-through to jitsi-web's self-signed certificate)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:...)."
  }
}

variable "web_https_port" {
  description = "jitsi-web's HTTPS port in the task: 443 up to docker-jitsi-meet stable-11031, 8443 from stable-11146 (awsvpc cannot remap ports)."
  type        = number
  default     = 443
}

variable "web_http_port" {
  description = "jitsi-web's HTTP port in the task (80 up to stable-11031, 8000 from stable-11146); with ENABLE_HTTP_REDIRECT=1 it redirects to https://."
  type        = number
  default     = 80
}

variable "ssl_policy" {
  description = "Security policy of the TLS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "enable_tcp_4443" {
  description = "Add the legacy JVB TCP 4443 listener and target group. Removed from docker-jitsi-meet in 2022 (use TURN on 443 instead); off by default."
  type        = bool
  default     = false
}

variable "enable_cross_zone_load_balancing" {
  description = "Let every NLB node reach the single task. JVB advertises all NLB addresses, so clients send media to nodes in zones without a target; without cross-zone those packets are dropped."
  type        = bool
  default     = true
}

variable "deregistration_delay" {
  description = "Seconds a deregistered target keeps receiving traffic. AWS defaults to 300, which would stall every stop; the platform is single-task, so a few seconds is enough."
  type        = number
  default     = 5

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "health_check_port" {
  description = "Port of the JVB private REST interface that serves the health endpoint (UDP target groups cannot be checked over UDP)."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "HTTP path of the JVB health endpoint."
  type        = string
  default     = "/about/health"
}

variable "health_check_interval" {
  description = "Seconds between health checks (5-300 for NLB target groups)."
  type        = number
  default     = 10

  validation {
    condition     = var.health_check_interval >= 5 && var.health_check_interval <= 300
    error_message = "health_check_interval must be between 5 and 300 seconds."
  }
}

variable "healthy_threshold" {
  description = "Consecutive successful checks before a target is healthy."
  type        = number
  default     = 2

  validation {
    condition     = var.healthy_threshold >= 2 && var.healthy_threshold <= 10
    error_message = "healthy_threshold must be between 2 and 10."
  }
}

variable "unhealthy_threshold" {
  description = "Consecutive failed checks before a target is unhealthy."
  type        = number
  default     = 2

  validation {
    condition     = var.unhealthy_threshold >= 2 && var.unhealthy_threshold <= 10
    error_message = "unhealthy_threshold must be between 2 and 10."
  }
}

variable "tags" {
  description = "Tags added to every resource (merged over the provider's default_tags)."
  type        = map(string)
  default     = {}
}
