output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this.id, null)
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (the service's and the NLB's)."
  value       = try(aws_subnet.public[*].id, [])
}

output "task_security_group_id" {
  description = "Security group of the Jitsi task."
  value       = try(aws_security_group.task.id, null)
}

output "cluster_name" {
  description = "ECS cluster name (bot setting cluster_name)."
  value       = try(aws_ecs_cluster.this.name, null)
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = try(aws_ecs_cluster.this.arn, null)
}

output "service_name" {
  description = "ECS service name (bot setting service_name); desired_count is owned by the bot."
  value       = try(aws_ecs_service.this.name, null)
}

output "service_arn" {
  description = "ECS service ARN."
  value       = try(aws_ecs_service.this.id, null)
}

output "task_definition_arn" {
  description = "ARN (with revision) of the Jitsi task definition."
  value       = try(aws_ecs_task_definition.this.arn, null)
}

output "task_execution_role_arn" {
  description = "ARN of the task execution role."
  value       = try(aws_iam_role.execution.arn, null)
}

output "task_role_arn" {
  description = "ARN of the task role."
  value       = try(aws_iam_role.task.arn, null)
}

output "advertise_ips_parameter_name" {
  description = "SSM parameter holding JVB_ADVERTISE_IPS (bot setting advertise_ips_parameter)."
  value       = try(aws_ssm_parameter.advertise_ips.name, null)
}

output "jwt_secret_parameter_name" {
  description = "SSM SecureString holding JWT_APP_SECRET, or null when JWT is off."
  value       = try(aws_ssm_parameter.jwt_app_secret[0].name, null)
}

output "log_group_name" {
  description = "CloudWatch log group of the task."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "recordings_bucket_name" {
  description = "Name of the recordings bucket, or null when disabled."
  value       = try(aws_s3_bucket.recordings[0].id, null)
}

output "meeting_url" {
  description = "Base URL of the meetings."
  value       = "https://${var.domain}"
}

output "certificate_arn" {
  description = "ACM certificate on the NLB's TLS listener (given, looked up, or requested here)."
  value       = local.certificate_arn
}

output "certificate_validation_records" {
  description = "DNS records ACM needs before it issues the requested certificate (written into hosted_zone_id when set; else create them where the domain is hosted, and keep them for renewals)."
  value = local.manage_certificate ? [
    for option in aws_acm_certificate.this[0].domain_validation_options : {
      name  = option.resource_record_name
      type  = option.resource_record_type
      value = option.resource_record_value
    }
  ] : []
}

output "bot_policy_json" {
  description = "Least-privilege IAM policy document for the bot worker; attach it to the worker's role or user."
  value       = data.aws_iam_policy_document.bot.json
}

output "bot_policy_arn" {
  description = "ARN of the bot worker's managed policy, or null when create_bot_policy is false."
  value       = try(aws_iam_policy.bot[0].arn, null)
}

output "nlb_arn" {
  description = "ARN of the Terraform-managed NLB, or null when nlb_enabled is false."
  value       = try(module.jvb_nlb[0].lb_arn, null)
}

output "nlb_dns_name" {
  description = "DNS name of the Terraform-managed NLB, or null."
  value       = try(module.jvb_nlb[0].lb_dns_name, null)
}

output "target_group_arns" {
  description = "Target group ARNs by key (udp10000, web443, tcp4443), or null."
  value       = try(module.jvb_nlb[0].target_group_arns, null)
}

output "image_cache_registry" {
  description = "Registry and namespace the Jitsi images are pulled from through the ECR pull-through cache, or null (image_cache = \"none\")."
  value       = local.image_cache_registry
}
