# jitsi-chatops platform: everything that is free (or nearly) while nobody meets.
#
# What bills by the hour - the NLB, its public IPv4 addresses and the Fargate
# task - is absent at rest: the ECS service sits at desired_count 0 and the NLB
# lives in modules/jvb-nlb behind `nlb_enabled` (default false), because the
# bot's worker creates it on demand with the same names. There is never a NAT
# gateway: the task gets a public IP in a public subnet instead.

data "aws_availability_zones" "available" {
  count = length(var.availability_zones) > 0 ? 0 : 1

  state = "available"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_route53_zone" "this" {
  count = var.hosted_zone_id != null ? 1 : 0

  zone_id = var.hosted_zone_id
}

data "aws_acm_certificate" "this" {
  count = var.acm_lookup && var.acm_certificate_arn == null ? 1 : 0

  domain      = var.domain
  statuses    = ["ISSUED"]
  most_recent = true
}

################################################################################
# The meeting domain's certificate: requested once, validated by DNS, free, renewed
# by ACM for as long as the validation record stays. Nothing is issued per start.
################################################################################

resource "aws_acm_certificate" "this" {
  count = local.manage_certificate ? 1 : 0

  domain_name       = var.domain
  validation_method = "DNS"

  tags = merge(local.tags, { Name = var.domain })

  lifecycle {
    create_before_destroy = true
  }
}

# With the hosted zone here, the validation record goes in it; without one, the
# `certificate_validation_records` output says what to create where the domain lives.
resource "aws_route53_record" "certificate_validation" {
  for_each = var.hosted_zone_id != null && local.manage_certificate ? {
    for option in aws_acm_certificate.this[0].domain_validation_options : option.domain_name => option
  } : {}

  zone_id         = var.hosted_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true # the bot's `infra bootstrap` may have written the same record
}

# Waits until ACM has issued it, so the NLB's TLS listener gets a usable certificate.
resource "aws_acm_certificate_validation" "this" {
  count = var.hosted_zone_id != null && local.manage_certificate ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for record in aws_route53_record.certificate_validation : record.fqdn]
}

locals {
  name = var.project_name

  tags = merge(var.tags, {
    "jitsi:project"    = var.project_name
    "jitsi:managed-by" = "jitsi-chatops"
  })

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Sorted names, first N: a zone AWS adds later does not move existing subnets.
  azs = length(var.availability_zones) > 0 ? var.availability_zones : slice(
    sort(data.aws_availability_zones.available[0].names), 0, length(var.public_subnet_cidrs)
  )

  # Names shared with the Python side (infra/aws/naming.py, bot/config.py).
  cluster_name   = "${local.name}-cluster"
  service_name   = "${local.name}-service"
  task_family    = "${local.name}-jitsi"
  log_group_name = "/ecs/${local.name}"
  parameter_path = "/${local.name}"
  parameter_arn  = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_path}"
  # Given, looked up, or made here (validated through the hosted zone when there is one).
  manage_certificate = var.acm_certificate_arn == null && !var.acm_lookup
  certificate_arn = (
    var.acm_certificate_arn != null ? var.acm_certificate_arn :
    var.acm_lookup ? data.aws_acm_certificate.this[0].arn :
    var.hosted_zone_id != null ? aws_acm_certificate_validation.this[0].certificate_arn :
    aws_acm_certificate.this[0].arn
  )

  recordings_bucket = var.recordings_bucket_name != null ? var.recordings_bucket_name : "${local.name}-recordings-${local.account_id}"
}

################################################################################
# Network: one VPC, public subnets, an internet gateway. No NAT gateway, ever.
################################################################################

resource "aws_vpc" "this" {
  cidr_block = var.vpc_cidr
  # Fargate tasks with public IPs need DNS hostnames (moto's run_task insists too).
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = local.name })
}

# Adopt the VPC's default security group and strip its rules: nothing uses it,
# and an open default group is an accident waiting to happen.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${local.name}-default-deny" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = local.name })
}

resource "aws_subnet" "public" {
  count = length(var.public_subnet_cidrs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.public_subnet_cidrs[count.index]
  availability_zone = local.azs[count.index]
  # The ECS service asks for a public IP explicitly; nothing else should get one.
  map_public_ip_on_launch = false

  tags = merge(local.tags, { Name = "${local.name}-public-${local.azs[count.index]}" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${local.name}-public" })
}

resource "aws_route" "internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "task" {
  name        = "${local.name}-task"
  description = "Jitsi Meet task: media, web and NLB health checks"
  vpc_id      = aws_vpc.this.id

  ingress {
    description = "JVB media; the NLB preserves client IPs for UDP, so the source is anyone"
    protocol    = "udp"
    from_port   = 10000
    to_port     = 10000
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "jitsi-web HTTPS through the NLB"
    protocol    = "tcp"
    from_port   = var.web_https_port
    to_port     = var.web_https_port
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "jitsi-web HTTP through the NLB (redirects to https://)"
    protocol    = "tcp"
    from_port   = var.web_http_port
    to_port     = var.web_http_port
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "NLB health checks of JVB /about/health from the load balancer nodes"
    protocol    = "tcp"
    from_port   = 8080
    to_port     = 8080
    cidr_blocks = [var.vpc_cidr]
  }

  dynamic "ingress" {
    for_each = var.enable_tcp_4443 ? [1] : []

    content {
      description = "Legacy JVB TCP fallback (enable_tcp_4443)"
      protocol    = "tcp"
      from_port   = 4443
      to_port     = 4443
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  egress {
    description = "Image pulls from the registry, ICE checks and media towards clients (no NAT, no VPC endpoints)"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(local.tags, { Name = "${local.name}-task" })

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Parameters the task reads at start (free: standard tier)
################################################################################

resource "aws_ssm_parameter" "advertise_ips" {
  name        = "${local.parameter_path}/jvb/advertise-ips"
  description = "JVB_ADVERTISE_IPS: the public addresses of the on-demand NLB, written by the bot before every start"
  type        = "String"
  tier        = "Standard"
  # Placeholder only: the NLB (and so its addresses) does not exist yet.
  value = "127.0.0.1"

  tags = local.tags

  lifecycle {
    # The bot owns the value; Terraform must not reset it on the next apply.
    ignore_changes = [value]
  }
}

# Internal XMPP account passwords of jicofo and jvb. The images refuse to start
# without them; they never leave the task, so they are generated once (uuid()
# is random) and then left alone.
resource "aws_ssm_parameter" "xmpp_password" {
  for_each = toset(["jicofo", "jvb"])

  name        = "${local.parameter_path}/xmpp/${each.key}-auth-password"
  description = "${upper(each.key)}_AUTH_PASSWORD of the internal XMPP account"
  type        = "SecureString"
  tier        = "Standard"
  value       = sha256(uuid())

  tags = local.tags

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "jwt_app_secret" {
  count = var.jwt_enabled ? 1 : 0

  name        = "${local.parameter_path}/jwt/app-secret"
  description = "JWT_APP_SECRET: HS256 key shared by prosody and the bot that signs meeting links"
  type        = "SecureString"
  tier        = "Standard"
  value       = var.jwt_app_secret != null ? var.jwt_app_secret : sha256(uuid())

  tags = local.tags

  lifecycle {
    # Rotated out of band (aws ssm put-parameter --overwrite), then the task restarted.
    ignore_changes = [value]
  }
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days

  tags = local.tags
}

################################################################################
# Image cache: an ECR pull-through cache rule for Docker Hub (image_cache = "ecr")
################################################################################

# Fargate pulls every image in full at every start; from ECR in the task's region that
# takes about half as long as from Docker Hub (docs/emulator.md, "Image pulls"). AWS takes
# a Docker Hub rule only with credentials in a secret named ecr-pullthroughcache/...,
# which the user creates (it holds their token); the same names as infra/aws/naming.py.
locals {
  image_cache_enabled = var.image_cache == "ecr"
  image_cache_prefix  = "${local.name}-hub"
  image_cache_registry = local.image_cache_enabled ? join("/", [
    "${local.account_id}.dkr.ecr.${local.region}.amazonaws.com",
    aws_ecr_pull_through_cache_rule.docker_hub[0].ecr_repository_prefix,
    "jitsi",
  ]) : null
}

data "aws_secretsmanager_secret" "image_cache" {
  count = local.image_cache_enabled ? 1 : 0

  arn  = var.image_cache_secret_arn
  name = var.image_cache_secret_arn == null ? "ecr-pullthroughcache/${local.image_cache_prefix}" : null
}

resource "aws_ecr_pull_through_cache_rule" "docker_hub" {
  count = local.image_cache_enabled ? 1 : 0

  ecr_repository_prefix = local.image_cache_prefix
  upstream_registry_url = "registry-1.docker.io"
  credential_arn        = data.aws_secretsmanager_secret.image_cache[0].arn
}

################################################################################
# IAM: task execution role, task role
################################################################################

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-task-execution"
  description        = "Pulls the Jitsi secrets from SSM and writes the task's logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "ProjectParameters"
    actions   = ["ssm:GetParameters"]
    resources = ["${local.parameter_arn}/*"]
  }

  dynamic "statement" {
    for_each = local.image_cache_enabled ? [1] : []

    content {
      # The first pull of an image through the rule creates its repository and imports it.
      sid       = "PullThroughCache"
      actions   = ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"]
      resources = ["arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${local.image_cache_prefix}/*"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${local.name}-task-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  description        = "Runtime role of the Jitsi containers"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "task" {
  count = var.recordings_bucket_enabled || var.enable_execute_command ? 1 : 0

  dynamic "statement" {
    for_each = var.recordings_bucket_enabled ? [1] : []

    content {
      sid       = "RecordingsWrite"
      actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
      resources = ["${aws_s3_bucket.recordings[0].arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.recordings_bucket_enabled ? [1] : []

    content {
      sid       = "RecordingsList"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.recordings[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.enable_execute_command ? [1] : []

    content {
      sid = "ExecuteCommand"
      actions = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      # The Session Manager channel actions support no resource-level restriction.
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  count = length(data.aws_iam_policy_document.task)

  name   = "${local.name}-task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task[0].json
}

################################################################################
# ECS: cluster, task definition (the four docker-jitsi-meet containers), service
################################################################################

resource "aws_ecs_cluster" "this" {
  name = local.cluster_name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  tags = local.tags
}

locals {
  # The one definition of the Jitsi task, shared with `jitsi-bot infra bootstrap`
  # (infra/jitsi/spec.py renders it the same way; a test compares the two
  # registrations). The docker-jitsi-meet release is pinned there, once.
  jitsi_task_file = "${path.module}/../infra/jitsi/task.json"
  jitsi_raw       = jsondecode(file(local.jitsi_task_file))

  # JVB gets what the fixed-size containers leave; its heap is 75 % of that.
  jvb_memory = var.task_memory - sum([for c in local.jitsi_raw.containers : tonumber(c.memory) if c.name != "jvb"])

  jitsi = jsondecode(templatefile(local.jitsi_task_file, {
    project             = local.name
    region              = local.region
    public_url          = "https://${var.domain}"
    log_group           = aws_cloudwatch_log_group.this.name
    release             = coalesce(var.jitsi_image_tag, local.jitsi_raw.release)
    registry            = coalesce(var.jitsi_image_registry, local.image_cache_registry, local.jitsi_raw.registry)
    sidecar_image       = local.jitsi_raw.sidecar_image
    jvb_memory          = tostring(local.jvb_memory)
    jvb_heap            = "${floor(local.jvb_memory * 75 / 100)}m"
    advertise_ips_arn   = aws_ssm_parameter.advertise_ips.arn
    jicofo_password_arn = aws_ssm_parameter.xmpp_password["jicofo"].arn
    jvb_password_arn    = aws_ssm_parameter.xmpp_password["jvb"].arn
    jwt_app_id          = var.jwt_enabled ? var.jwt_app_id : ""
    jwt_secret_arn      = var.jwt_enabled ? aws_ssm_parameter.jwt_app_secret[0].arn : ""
    # Written by the bot (jitsi-bot infra certificate), not by Terraform: only named here.
    tls_fullchain_arn = "${local.parameter_arn}/tls/fullchain"
    tls_privkey_arn   = "${local.parameter_arn}/tls/privkey"
  }))

  # Optional parts, merged into the containers they name (see "features" in task.json).
  jitsi_features = [for name, on in { direct = var.ingress == "direct", direct_tls = var.direct_tls || var.ingress == "direct", jwt = var.jwt_enabled, jwt_guests = var.jwt_enabled && var.jwt_guests == "lobby", tcp_4443 = var.enable_tcp_4443 } : local.jitsi.features[name] if on]

  containers = [
    for c in local.jitsi.containers : merge(c, {
      memory = tonumber(c.memory)
      environment = [
        for k, v in merge(c.environment, [for f in local.jitsi_features : try(f[c.name].environment, {})]...) :
        { name = k, value = v }
      ]
      secrets = [
        for s in concat(c.secrets, flatten([for f in local.jitsi_features : try(f[c.name].secrets, [])])) : s
        if !contains(flatten([for f in local.jitsi_features : try(f[c.name].drop_secrets, [])]), s.name)
      ]
      portMappings = concat(c.portMappings, flatten([for f in local.jitsi_features : try(f[c.name].portMappings, [])]))
    })
  ]
}

resource "aws_ecs_task_definition" "this" {
  family                   = local.task_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.containers)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = local.jvb_memory >= 1024
      error_message = "task_memory leaves JVB less than 1024 MiB once the other containers (infra/jitsi/task.json) have theirs."
    }
  }
}

resource "aws_ecs_service" "this" {
  name            = local.service_name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  launch_type     = "FARGATE"
  # Scale to zero: the bot moves this between 0 and 1.
  desired_count = 0

  # One task at a time, even during a deployment: two bridges would split the
  # NLB targets and advertise the same addresses.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  enable_execute_command  = var.enable_execute_command
  wait_for_steady_state   = false

  network_configuration {
    subnets          = aws_subnet.public[*].id
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = true # no NAT gateway: the task pulls its images over its own public IP
  }

  tags = local.tags

  lifecycle {
    # Owned by the bot at run time; an apply must not stop a running meeting.
    ignore_changes = [desired_count]
  }
}

################################################################################
# Recordings: private, versioned, encrypted
################################################################################

resource "aws_s3_bucket" "recordings" {
  count = var.recordings_bucket_enabled ? 1 : 0

  bucket        = local.recordings_bucket
  force_destroy = var.recordings_force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_public_access_block" "recordings" {
  count = var.recordings_bucket_enabled ? 1 : 0

  bucket                  = aws_s3_bucket.recordings[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "recordings" {
  count = var.recordings_bucket_enabled ? 1 : 0

  bucket = aws_s3_bucket.recordings[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "recordings" {
  count = var.recordings_bucket_enabled ? 1 : 0

  bucket = aws_s3_bucket.recordings[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "recordings" {
  count = var.recordings_bucket_enabled ? 1 : 0

  bucket = aws_s3_bucket.recordings[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "recordings" {
  count = var.recordings_bucket_enabled ? 1 : 0

  bucket = aws_s3_bucket.recordings[0].id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"

    # The whole bucket. An explicit empty prefix rather than `filter {}`: both
    # mean the same, but S3 (and moto) echo it back as <Prefix/>, which the
    # provider would otherwise poll for a minute waiting to see `filter {}`.
    filter {
      prefix = ""
    }

    noncurrent_version_expiration {
      noncurrent_days = var.recordings_noncurrent_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.recordings]
}

################################################################################
# The on-demand NLB, when Terraform rather than the bot should own it
################################################################################

module "jvb_nlb" {
  source = "./modules/jvb-nlb"
  # Direct mode has no load balancer at all (docs/ingress.md).
  count = var.nlb_enabled && var.ingress == "nlb" ? 1 : 0

  name_prefix          = var.project_name
  vpc_id               = aws_vpc.this.id
  subnet_ids           = aws_subnet.public[*].id
  certificate_arn      = local.certificate_arn
  web_https_port       = var.web_https_port
  web_http_port        = var.web_http_port
  enable_tcp_4443      = var.enable_tcp_4443
  deregistration_delay = var.deregistration_delay

  tags = local.tags

  # An internet-facing load balancer needs the VPC's internet gateway attached.
  depends_on = [aws_route.internet]
}

resource "aws_route53_record" "nlb" {
  count = var.hosted_zone_id != null && var.nlb_enabled && var.ingress == "nlb" ? 1 : 0

  zone_id = data.aws_route53_zone.this[0].zone_id
  name    = var.domain
  type    = "A"

  alias {
    name                   = module.jvb_nlb[0].lb_dns_name
    zone_id                = module.jvb_nlb[0].lb_zone_id
    evaluate_target_health = false
  }
}

# The meeting domain's record exists only while the platform runs; a resolver
# that asked while it was off caches "no such name" for min(SOA TTL, SOA
# minimum) (RFC 2308 section 5), 900 s with Route 53's defaults. Both lowered
# here (the same values as `jitsi-bot infra bootstrap`, infra/aws/dns_zone.py).
# The other fields are Route 53's defaults (Developer Guide, "NS and SOA records
# that Amazon Route 53 creates for a public hosted zone"). Route 53 refuses to
# delete a zone's SOA; the provider ignores that refusal, so destroy leaves the
# lowered values in place.
resource "aws_route53_record" "soa" {
  count = var.hosted_zone_id != null && var.dns_negative_cache_ttl != null ? 1 : 0

  zone_id         = data.aws_route53_zone.this[0].zone_id
  name            = data.aws_route53_zone.this[0].name
  type            = "SOA"
  ttl             = var.dns_negative_cache_ttl
  allow_overwrite = true
  records = [
    "${trimsuffix(data.aws_route53_zone.this[0].primary_name_server, ".")}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 ${var.dns_negative_cache_ttl}",
  ]
}

################################################################################
# The bot worker's least-privilege policy (always an output, optionally a managed policy)
################################################################################

locals {
  elb_arn_prefix = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}"
  ecs_arn_prefix = "arn:${local.partition}:ecs:${local.region}:${local.account_id}"
  # Exactly the names both drivers use (infra/aws/naming.py and modules/jvb-nlb).
  target_group_names = [for suffix in ["udp10000", "web443", "web80", "tcp4443"] : "${local.name}-${suffix}"]
  # ARNs built from names rather than resource attributes, so the policy is
  # known at plan time and can be reviewed before anything exists.
  cluster_arn       = "${local.ecs_arn_prefix}:cluster/${local.cluster_name}"
  advertise_ips_arn = "${local.parameter_arn}/jvb/advertise-ips"
  jwt_secret_arn    = "${local.parameter_arn}/jwt/app-secret"
  hosted_zone_arn   = var.hosted_zone_id == null ? null : "arn:${local.partition}:route53:::hostedzone/${trimprefix(var.hosted_zone_id, "/hostedzone/")}"
}

data "aws_iam_policy_document" "bot" {
  statement {
    sid = "OnDemandLoadBalancer"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:CreateLoadBalancer",
      "elasticloadbalancing:CreateTargetGroup",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:DeregisterTargets",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:RegisterTargets",
    ]
    resources = concat(
      [
        "${local.elb_arn_prefix}:loadbalancer/net/${local.name}-nlb/*",
        "${local.elb_arn_prefix}:listener/net/${local.name}-nlb/*/*",
      ],
      [for tg in local.target_group_names : "${local.elb_arn_prefix}:targetgroup/${tg}/*"],
    )
  }

  statement {
    sid = "ReadLoadBalancers"
    actions = [
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    # Describe calls of elasticloadbalancing support no resource-level restriction.
    resources = ["*"]
  }

  statement {
    sid       = "LoadBalancerServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid       = "ScaleService"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = ["${local.ecs_arn_prefix}:service/${local.cluster_name}/${local.service_name}"]
  }

  statement {
    sid       = "ListServiceTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "DescribeServiceTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = ["${local.ecs_arn_prefix}:task/${local.cluster_name}/*"]
  }

  statement {
    sid = "ReadNetwork"
    # Task and NLB interfaces (public IPs), the service's subnets, and elastic
    # IPs for the orphan audit. EC2 Describe* supports no resource restriction.
    actions   = ["ec2:DescribeAddresses", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    resources = ["*"]
  }

  statement {
    sid = "FindCertificate"
    # Each start finds the ISSUED certificate for the domain before making the NLB
    # (infra/aws/certificate.py); ListCertificates supports no resource restriction.
    actions   = ["acm:ListCertificates"]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeCertificates"
    actions   = ["acm:DescribeCertificate"]
    resources = ["arn:${local.partition}:acm:${local.region}:${local.account_id}:certificate/*"]
  }

  statement {
    sid = "ReadLoadBalancerMetrics"
    # The idle monitor reads ActiveFlowCount_UDP / ProcessedBytes_UDP of the NLB; after
    # a stop the session's traffic is read from metrics listed by name (the NLB is gone).
    actions   = ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"]
    resources = ["*"]
  }

  statement {
    sid = "ReadSpend"
    # `cost actual` (Cost Explorer, grouped by the project's tag) and doctor's check of
    # that cost-allocation tag; neither action supports a resource restriction.
    actions   = ["ce:GetCostAndUsage", "ce:ListCostAllocationTags", "logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadIdleSizes"
    actions   = ["ssm:GetParametersByPath"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${var.project_name}/*"]
  }

  statement {
    sid       = "ReadBucketSize"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.recordings_bucket}"]
  }

  statement {
    sid       = "AdvertiseIps"
    actions   = ["ssm:GetParameter", "ssm:PutParameter"]
    resources = [local.advertise_ips_arn]
  }

  dynamic "statement" {
    # Direct mode: the preflight reads the stored certificate (docs/ingress.md).
    for_each = var.ingress == "direct" ? [1] : []

    content {
      sid       = "DirectCertificate"
      actions   = ["ssm:GetParameter"]
      resources = ["${local.parameter_arn}/tls/*"]
    }
  }

  dynamic "statement" {
    for_each = var.jwt_enabled ? [1] : []

    content {
      sid       = "SignMeetingLinks"
      actions   = ["ssm:GetParameter"]
      resources = [local.jwt_secret_arn]
    }
  }

  dynamic "statement" {
    for_each = var.hosted_zone_id != null ? [1] : []

    content {
      sid       = "MeetingDnsRecord"
      actions   = ["route53:ChangeResourceRecordSets"]
      resources = [local.hosted_zone_arn]

      # Only the meeting domain's record, not the rest of the zone.
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
        values   = [var.domain]
      }
    }
  }

  dynamic "statement" {
    for_each = var.hosted_zone_id != null && var.direct_tls ? [1] : []

    content {
      sid       = "AcmeChallengeRecord"
      actions   = ["route53:ChangeResourceRecordSets"]
      resources = [local.hosted_zone_arn]

      # DNS-01 (infra/acme_cert.py): only the challenge TXT record of the meeting domain.
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
        values   = ["_acme-challenge.${var.domain}"]
      }
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "route53:ChangeResourceRecordSetsRecordTypes"
        values   = ["TXT"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.direct_tls ? [1] : []

    content {
      sid = "DirectTlsCertificate"
      # The certificate, its key and the ACME account key (infra/tls_store.py).
      actions   = ["ssm:GetParameter", "ssm:PutParameter"]
      resources = ["${local.parameter_arn}/tls/*"]
    }
  }

  dynamic "statement" {
    for_each = var.hosted_zone_id != null ? [1] : []

    content {
      sid       = "ReadMeetingDnsZone"
      actions   = ["route53:ListResourceRecordSets"]
      resources = [local.hosted_zone_arn]
    }
  }

  dynamic "statement" {
    for_each = var.hosted_zone_id != null ? [1] : []

    content {
      sid       = "MeetingDnsChangeStatus"
      actions   = ["route53:GetChange"]
      resources = ["arn:${local.partition}:route53:::change/*"]
    }
  }
}

resource "aws_iam_policy" "bot" {
  count = var.create_bot_policy ? 1 : 0

  name        = "${local.name}-bot-worker"
  description = "Least privilege of the jitsi-chatops worker: on-demand NLB, service scaling, advertised IPs, DNS"
  policy      = data.aws_iam_policy_document.bot.json

  tags = local.tags
}
