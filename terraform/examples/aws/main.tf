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

  # The bot owns the NLB; attach bot_policy_arn to the worker's role.
  nlb_enabled       = false
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
