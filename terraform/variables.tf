# --- identity -----------------------------------------------------------------

variable "project_name" {
  description = "Short name of the platform; prefixes every resource name and the SSM parameter path /<project_name>/. Must match the bot's project setting so both drivers find the same resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.project_name))
    error_message = "project_name must start with a letter, end with a letter or digit, and use only a-z, 0-9 and '-' (2-24 characters)."
  }

  validation {
    # "<project>-udp10000" is a target group name; AWS caps those at 32 characters.
    condition     = length(var.project_name) <= 23
    error_message = "project_name must be at most 23 characters so that \"<project_name>-udp10000\" fits the 32-character target group name limit."
  }
}

variable "domain" {
  description = "Public hostname of the meetings, e.g. meet.example.com (PUBLIC_URL is https://<domain>)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lower-case DNS name such as meet.example.com."
  }
}

variable "tags" {
  description = "Tags merged into every resource, on top of jitsi:project and jitsi:managed-by (use provider default_tags for organisation-wide tags)."
  type        = map(string)
  default     = {}
}

# --- network --------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the public subnets, one per availability zone. Two is the sweet spot: every zone of the NLB costs one public IPv4 address per hour. There is never a NAT gateway: tasks get a public IP."
  type        = list(string)
  default     = ["10.42.0.0/24", "10.42.1.0/24"]

  validation {
    condition     = length(var.public_subnet_cidrs) >= 2 && alltrue([for cidr in var.public_subnet_cidrs : can(cidrhost(cidr, 0))])
    error_message = "public_subnet_cidrs needs at least two valid IPv4 CIDR blocks."
  }
}

variable "availability_zones" {
  description = "Availability zones of the subnets, in order. Empty picks the first available zones of the region."
  type        = list(string)
  default     = []
}

# --- Jitsi task -----------------------------------------------------------------

variable "jitsi_image_registry" {
  description = "Registry and namespace of the docker-jitsi-meet images. null: the one that goes with the pinned release in infra/jitsi/task.json (set a pull-through cache or mirror here)."
  type        = string
  default     = null
}

variable "image_cache" {
  description = "Where the task pulls the docker-jitsi-meet images: \"none\" (Docker Hub, at every start) or \"ecr\" (an ECR pull-through cache rule for docker.io in this region: about 12 s faster starts; about $0.45/month: ECR storage $0.10/GB-month for about 0.45 GB, the secret $0.40/month). jitsi_image_registry, when set, wins."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "ecr"], var.image_cache)
    error_message = "image_cache must be \"none\" or \"ecr\"."
  }
}

variable "image_cache_secret_arn" {
  description = "With image_cache = \"ecr\": the Secrets Manager secret holding {\"username\", \"accessToken\"} of a Docker Hub account (its name must start with ecr-pullthroughcache/). null: the secret named ecr-pullthroughcache/<project_name>-hub."
  type        = string
  default     = null
}

variable "jitsi_image_tag" {
  description = "docker-jitsi-meet release tag of web, prosody, jicofo and jvb. null (recommended): the release pinned in infra/jitsi/task.json, which its contract (contract.json) was checked against; see docs/jitsi.md before changing it."
  type        = string
  default     = null

  validation {
    condition     = var.jitsi_image_tag == null || can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.jitsi_image_tag))
    error_message = "jitsi_image_tag must be a valid image tag."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units (4096 = 4 vCPU)."
  type        = number
  default     = 4096

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "task_memory" {
  description = "Fargate task memory in MiB; must be a valid combination with task_cpu leaving JVB at least 1024 MiB after the fixed-size containers of infra/jitsi/task.json."
  type        = number
  default     = 8192
}

variable "cpu_architecture" {
  description = "CPU architecture of the task: X86_64 or ARM64 (Graviton, about 20% cheaper; docker-jitsi-meet publishes both)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "enable_tcp_4443" {
  description = "Legacy JVB TCP fallback on 4443 (removed from docker-jitsi-meet in 2022; only older images honour it). Adds the port to the task, its security group and the NLB. Prefer a TURN server on 443."
  type        = bool
  default     = false
}

variable "direct_tls" {
  description = "Direct ingress (no load balancer): the web container reads the ACME certificate from the SSM parameters <project>/tls/fullchain and /tls/privkey, which `jitsi-bot infra certificate` writes; issue it before the first start. The bot's role may then write them and the `_acme-challenge` TXT record."
  type        = bool
  default     = false
}

variable "enable_execute_command" {
  description = "Allow `aws ecs execute-command` into the task (adds the ssmmessages permissions to the task role)."
  type        = bool
  default     = false
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster. Off by default: its custom metrics are billed."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the task's CloudWatch log group."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

# --- authentication ---------------------------------------------------------------

variable "jwt_enabled" {
  description = "Require JWT meeting links (ENABLE_AUTH=1, AUTH_TYPE=jwt). The app secret lives in an SSM SecureString the task and the bot read."
  type        = bool
  default     = true
}

variable "jwt_guests" {
  description = "People without a token: refuse (ENABLE_GUESTS=0) or let them wait until a token holder opened the room (lobby, ENABLE_GUESTS=1). The bot's jwt_guests setting must match."
  type        = string
  default     = "refuse"

  validation {
    condition     = contains(["refuse", "lobby"], var.jwt_guests)
    error_message = "jwt_guests must be refuse or lobby."
  }
}

variable "jwt_app_id" {
  description = "JWT_APP_ID: the `iss` of the bot's tokens."
  type        = string
  default     = "jitsi-chatops"
}

variable "jwt_app_secret" {
  description = "Initial JWT_APP_SECRET (HS256 key, at least 32 characters). Null generates one. Terraform ignores later changes of the parameter so it can be rotated with `aws ssm put-parameter --overwrite`; it is stored in the Terraform state."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.jwt_app_secret == null || length(coalesce(var.jwt_app_secret, "x")) >= 32
    error_message = "jwt_app_secret must be at least 32 characters."
  }
}

# --- load balancer, DNS, TLS --------------------------------------------------------

variable "ingress" {
  description = "The way in, as the bot's `ingress` setting: \"nlb\" (an on-demand NLB, made by the bot or by module jvb_nlb with nlb_enabled) or \"direct\" (the task's own public IP and an A record the bot writes; JVB finds its address by STUN, no load balancer is ever made). The service assigns the task a public IP in both modes."
  type        = string
  default     = "nlb"

  validation {
    condition     = contains(["nlb", "direct"], var.ingress)
    error_message = "ingress must be \"nlb\" or \"direct\"."
  }
}

variable "nlb_enabled" {
  description = "Let Terraform create the NLB (module jvb_nlb). Default false: the bot creates it on demand with the same names, which is what makes the platform free while idle."
  type        = bool
  default     = false
}

variable "deregistration_delay" {
  description = "Deregistration delay of the NLB target groups, in seconds (AWS default 300)."
  type        = number
  default     = 5
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone of `domain`. When set (and nlb_enabled), an alias record points the domain at the NLB, and the bot policy may change records in this zone."
  type        = string
  default     = null
}

variable "dns_negative_cache_ttl" {
  description = "With hosted_zone_id: lower the zone SOA's TTL and minimum to this many seconds, how long resolvers cache \"no such name\" for the meeting domain while the platform is off (RFC 2308; Route 53 default 900). null leaves the SOA alone."
  type        = number
  default     = 60

  validation {
    condition     = var.dns_negative_cache_ttl == null || try(var.dns_negative_cache_ttl >= 0 && var.dns_negative_cache_ttl <= 900, false)
    error_message = "dns_negative_cache_ttl must be between 0 and 900 (Route 53's default), or null."
  }
}

variable "acm_lookup" {
  description = "Look up an ISSUED ACM certificate for `domain` instead of requesting one here (ignored when acm_certificate_arn is set)."
  type        = bool
  default     = false
}

variable "acm_certificate_arn" {
  description = "ACM certificate for the NLB's TLS listener on 443. Null (and acm_lookup false): one is requested here for `domain` with DNS validation, validated through hosted_zone_id when set (else create the record from the certificate_validation_records output)."
  type        = string
  default     = null
}

variable "web_https_port" {
  description = "jitsi-web's HTTPS port in the task: 443 up to docker-jitsi-meet stable-11031, 8443 from stable-11146 (awsvpc cannot remap ports). The NLB's 443 forwards here over TLS."
  type        = number
  default     = 443
}

variable "web_http_port" {
  description = "jitsi-web's HTTP port in the task: 80 up to stable-11031, 8000 from stable-11146. The NLB's 80 forwards here; ENABLE_HTTP_REDIRECT=1 makes it redirect to https://."
  type        = number
  default     = 80
}

# --- storage ---------------------------------------------------------------------------

variable "recordings_bucket_enabled" {
  description = "Create the private S3 bucket for recordings."
  type        = bool
  default     = true
}

variable "recordings_bucket_name" {
  description = "Name of the recordings bucket. Null uses <project_name>-recordings-<account id>."
  type        = string
  default     = null
}

variable "recordings_force_destroy" {
  description = "Allow `terraform destroy` to delete a bucket that still holds recordings."
  type        = bool
  default     = false
}

variable "recordings_noncurrent_days" {
  description = "Days an overwritten or deleted recording version is kept before it expires."
  type        = number
  default     = 30
}

# --- the bot's permissions ----------------------------------------------------------------

variable "create_bot_policy" {
  description = "Also create the bot worker's least-privilege policy as an IAM managed policy (its JSON is always an output)."
  type        = bool
  default     = false
}
