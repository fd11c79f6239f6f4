output "lb_arn" {
  description = "ARN of the network load balancer."
  value       = try(aws_lb.this.arn, null)
}

output "lb_arn_suffix" {
  description = "ARN suffix of the load balancer (the CloudWatch `LoadBalancer` dimension for ActiveFlowCount_UDP and friends)."
  value       = try(aws_lb.this.arn_suffix, null)
}

output "lb_dns_name" {
  description = "DNS name of the load balancer."
  value       = try(aws_lb.this.dns_name, null)
}

output "lb_zone_id" {
  description = "Canonical hosted zone of the load balancer, for Route53 alias records."
  value       = try(aws_lb.this.zone_id, null)
}

output "target_group_arns" {
  description = "Target group ARNs by key (udp10000, web443, web80 and, when enabled, tcp4443)."
  value       = try({ for key, tg in aws_lb_target_group.this : key => tg.arn }, {})
}

output "target_group_names" {
  description = "Target group names by key."
  value       = try({ for key, tg in aws_lb_target_group.this : key => tg.name }, {})
}

output "listener_arns" {
  description = "Listener ARNs by key."
  value       = try({ for key, listener in aws_lb_listener.this : key => listener.arn }, {})
}
