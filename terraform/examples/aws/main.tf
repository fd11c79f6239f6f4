# A minimal real-account deployment: everything idle-free is created, the bot
# creates the NLB and scales the service when someone asks for a meeting.

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      "jitsi:project"    = var.project_name
      "jitsi:managed-by" = "jitsi-chatops"
    }
  }
}

module "platform" {
  source = "../.."

  project_name   = var.project_name
  domain         = var.domain
  hosted_zone_id = var.hosted_zone_id
  acm_lookup     = var.acm_lookup
  jwt_enabled    = var.jwt_enabled

  # The bot owns the NLB (false at rest); with the bot's nlb_driver = "terraform"
  # its worker applies this root with nlb_enabled=true/false. Attach
  # bot_policy_arn to the worker's role.
  nlb_enabled       = var.nlb_enabled
  create_bot_policy = true
}

output "bot_policy_arn" {
  description = "Managed policy to attach to the bot worker's role."
  value       = module.platform.bot_policy_arn
}

output "bot_settings" {
  description = "Values for the bot's configuration."
  value = {
    project_name            = var.project_name
    domain                  = var.domain
    aws_region              = var.region
    cluster_name            = module.platform.cluster_name
    service_name            = module.platform.service_name
    advertise_ips_parameter = module.platform.advertise_ips_parameter_name
    hosted_zone_id          = var.hosted_zone_id
    acm_certificate_arn     = module.platform.certificate_arn
  }
}

# Read back by the bot's Terraform driver (docs/terraform.md).
output "nlb_arn" {
  description = "ARN of the NLB while nlb_enabled, or null."
  value       = module.platform.nlb_arn
}

output "nlb_dns_name" {
  description = "DNS name of the NLB while nlb_enabled, or null."
  value       = module.platform.nlb_dns_name
}

output "target_group_arns" {
  description = "Target group ARNs by key while nlb_enabled, or null."
  value       = module.platform.target_group_arns
}
