# The platform against a local AWS emulator (moto in server mode): every
# service endpoint points at one URL and nothing talks to real AWS.

provider "aws" {
  region     = var.region
  access_key = "testing"
  secret_key = "testing"

  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {
    acm            = var.aws_endpoint_url
    ec2            = var.aws_endpoint_url
    ecr            = var.aws_endpoint_url
    secretsmanager = var.aws_endpoint_url
    ecs            = var.aws_endpoint_url
    elbv2          = var.aws_endpoint_url
    iam            = var.aws_endpoint_url
    logs           = var.aws_endpoint_url
    route53        = var.aws_endpoint_url
    s3             = var.aws_endpoint_url
    ssm            = var.aws_endpoint_url
    sts            = var.aws_endpoint_url
  }

  default_tags {
    tags = {
      "jitsi:project"    = var.project_name
      "jitsi:managed-by" = "jitsi-chatops"
      "jitsi:example"    = "emulator"
    }
  }
}

module "platform" {
  source = "../.."

  project_name = var.project_name
  domain       = var.domain

  ingress                   = var.ingress
  nlb_enabled               = var.nlb_enabled
  enable_tcp_4443           = var.enable_tcp_4443
  jwt_enabled               = var.jwt_enabled
  recordings_bucket_enabled = var.recordings_bucket_enabled
  hosted_zone_id            = var.hosted_zone_id
  dns_negative_cache_ttl    = var.dns_negative_cache_ttl
  acm_certificate_arn       = var.acm_certificate_arn
  image_cache               = var.image_cache
  # Throwaway state: let destroy remove a bucket with objects in it.
  recordings_force_destroy = true
  create_bot_policy        = true
}

output "bot_policy_json" {
  description = "The bot worker's least-privilege policy."
  value       = module.platform.bot_policy_json
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = module.platform.cluster_name
}

output "service_name" {
  description = "ECS service name."
  value       = module.platform.service_name
}

output "advertise_ips_parameter_name" {
  description = "SSM parameter of JVB_ADVERTISE_IPS."
  value       = module.platform.advertise_ips_parameter_name
}

output "nlb_arn" {
  description = "ARN of the NLB, or null."
  value       = module.platform.nlb_arn
}

output "nlb_dns_name" {
  description = "DNS name of the NLB, or null."
  value       = module.platform.nlb_dns_name
}

output "target_group_arns" {
  description = "Target group ARNs by key, or null."
  value       = module.platform.target_group_arns
}

output "image_cache_registry" {
  description = "Where the Jitsi images are pulled from through the ECR pull-through cache, or null."
  value       = module.platform.image_cache_registry
}
