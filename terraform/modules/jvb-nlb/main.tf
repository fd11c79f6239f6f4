# The on-demand Network Load Balancer in front of the single Jitsi task.
# It only exists while a meeting platform is up: it bills by the hour (plus one
# public IPv4 address per zone), so the root module creates it behind
# `nlb_enabled` and the bot's boto3 driver creates the same names on demand.
# Targets are IP targets registered by whoever starts the task; no target is
# registered here because the task's address changes on every start.

locals {
  target_groups = merge(
    {
      udp10000 = {
        listener_port = 10000
        port          = 10000
        protocol      = "UDP"
        # UDP target groups cannot be checked over UDP: probe the JVB REST health endpoint.
        health_protocol = "HTTP"
        health_port     = tostring(var.health_check_port)
        health_path     = var.health_check_path
      }
      web443 = {
        listener_port = 443
        port          = var.web_https_port
        # The NLB ends the browser's TLS with the ACM certificate and opens a new TLS
        # connection to jitsi-web's own (self-signed) certificate: NLBs do not verify
        # target certificates. Not TCP to nginx's HTTP port: with ENABLE_HTTP_REDIRECT
        # it answers every request with a redirect to https://, which would loop.
        protocol        = "TLS"
        health_protocol = "TCP"
        health_port     = "traffic-port"
        health_path     = null
      }
      web80 = {
        listener_port = 80
        port          = var.web_http_port
        # http:// reaches nginx's HTTP port, whose ENABLE_HTTP_REDIRECT answers 301 to https://.
        protocol        = "TCP"
        health_protocol = "TCP"
        health_port     = "traffic-port"
        health_path     = null
      }
    },
    var.enable_tcp_4443 ? {
      tcp4443 = {
        listener_port = 4443
        port          = 4443
        # JVB again: the same health endpoint as the UDP group.
        protocol        = "TCP"
        health_protocol = "HTTP"
        health_port     = tostring(var.health_check_port)
        health_path     = var.health_check_path
      }
    } : {}
  )
}

resource "aws_lb" "this" {
  name               = "${var.name_prefix}-nlb"
  load_balancer_type = "network"
  internal           = false
  subnets            = var.subnet_ids

  enable_cross_zone_load_balancing = var.enable_cross_zone_load_balancing
  # The bot deletes this load balancer on every stop; protection would block that.
  enable_deletion_protection = false

  tags = merge(var.tags, { Name = "${var.name_prefix}-nlb" })
}

resource "aws_lb_target_group" "this" {
  for_each = local.target_groups

  name        = "${var.name_prefix}-${each.key}"
  port        = each.value.port
  protocol    = each.value.protocol
  target_type = "ip"
  vpc_id      = var.vpc_id

  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    protocol            = each.value.health_protocol
    port                = each.value.health_port
    path                = each.value.health_path
    matcher             = each.value.health_protocol == "HTTP" ? "200" : null
    interval            = var.health_check_interval
    healthy_threshold   = var.healthy_threshold
    unhealthy_threshold = var.unhealthy_threshold
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}

resource "aws_lb_listener" "this" {
  for_each = local.target_groups

  load_balancer_arn = aws_lb.this.arn
  port              = each.value.listener_port
  protocol          = each.value.protocol
  certificate_arn   = each.value.protocol == "TLS" ? var.certificate_arn : null
  ssl_policy        = each.value.protocol == "TLS" ? var.ssl_policy : null

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[each.key].arn
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}
